using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Sealing;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Verify.Tests.S3;

/// <summary>`verify data s3://...` against a real s3rver: objects put with the SDK, scanned through the CLI's entry point.</summary>
[Collection(S3rverCollection.Name)]
public sealed class S3DataScannerTests(S3rverFixture s3)
{
    private const string Bucket = S3rverFixture.Bucket;

    [Fact]
    public async Task SealedPlaintextAndUnsealedObjects_ExactFindings_WithTheirKeys()
    {
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        IRecipient recipient = KeyFiles.ParseRecipient(p256.ExportSubjectPublicKeyInfoPem());
        byte[] block = Sealer.Seal(new byte[200_000], ObjectKind.Block, "default", [recipient]);
        byte[] frame = SpecObjects.Frame(Sealer.Seal("frame"u8, ObjectKind.WalSegment, "default", [recipient]));
        await PutAsync("f/blocks/default/2026/11/21/01/00000000000000aa.block", block);
        await PutAsync("f/blocks/default/2026/11/21/01/1763687000-0000aaaa.walseg", [.. frame, .. frame]);
        await PutAsync("f/blocks/default/2026/11/21/01/1763687001-0000bbbb.walseg", [.. frame, 0, 0, 0, 5, .. "hello"u8]);
        await PutAsync("f/blocks/default/2026/11/21/01/00000000000000bb.block", SpecObjects.Sealed(0x02, "default"));
        await PutAsync("f/spill/batch-1.bin", PlaintextRequest());
        await PutAsync("f/notes.txt", "hello"u8.ToArray());
        await PutAsync("f/empty", []);
        await PutAsync("fx/outside-the-prefix.txt", "hello"u8.ToArray()); // "f" is a folder: fx/ is not under it

        var report = await ScanAsync("s3://" + Bucket + "/f");

        Assert.Equal($"s3://{Bucket}/f", report.Target);
        string at = $"s3://{Bucket}/f/";
        var findings = report.Results.Where(r => r.Outcome == Outcome.Fail).Select(r => (r.Rule.Id, r.Location?.File, r.Message)).ToList();
        Assert.Equal(
        [
            ("TS-DATA-004", at + "blocks/default/2026/11/21/01/00000000000000bb.block", "block of tenant default: stanza_count is 0: sealed to no recipient"),
            ("TS-DATA-001", at + "blocks/default/2026/11/21/01/1763687001-0000bbbb.walseg", $"WAL frame 1 at offset {frame.Length} is not a sealed object of a known version"),
            ("TS-DATA-001", at + "notes.txt", "not a sealed object (no TSEAL magic)"),
            ("TS-DATA-002", at + "spill/batch-1.bin", "holds OTLP protobuf spans (1 readable span(s)) in plaintext"),
        ], findings);

        // One store (the prefix above blocks/): the sealed block, 3 good frames and the recipient-less block.
        var summary = Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-004" && r.Outcome == Outcome.Pass);
        Assert.Equal($"store s3://{Bucket}/f: 5 sealed object(s), tenant(s) default; recipient key ids: {recipient.KeyId} (4)", summary.Message);

        // s3rver stores no server-side encryption: advisory only.
        var sse = Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-006");
        Assert.Equal(Outcome.Warn, sse.Outcome);
        Assert.StartsWith("7 of 7 object(s) carry no server-side encryption (not required: they are sealed): f/blocks/default/", sse.Message, StringComparison.Ordinal);
        Assert.EndsWith(" and 2 more", sse.Message, StringComparison.Ordinal);
        Assert.Equal(Outcome.Pass, Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-005").Outcome);
        Assert.DoesNotContain(report.Results, r => r.Rule.Id == "TS-DATA-003"); // no file modes in object storage
        Assert.Equal(Report.ExitFindings, report.ExitCode(Outcome.Fail));
    }

    /// <summary>A header longer than the first ranged read (31 P-384 recipients: ~5 KB) is read again in full.</summary>
    [Fact]
    public async Task LongHeaders_AreReadInFull()
    {
        var keys = Enumerable.Range(0, 31).Select(_ => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384)).ToList();
        try
        {
            IRecipient[] recipients = [.. keys.Select(k => KeyFiles.ParseRecipient(k.ExportSubjectPublicKeyInfoPem()))];
            await PutAsync("long/eu/blocks/acme/a.block", Sealer.Seal("x"u8, ObjectKind.Block, "acme", recipients));
            await PutAsync("long/eu/blocks/acme/b.walseg", SpecObjects.Frame(Sealer.Seal("x"u8, ObjectKind.WalSegment, "acme", recipients)));

            var report = await ScanAsync($"s3://{Bucket}/long/");

            Assert.DoesNotContain(report.Results, r => r.Outcome == Outcome.Fail);
            string ids = string.Join(", ", recipients.Select(r => r.KeyId).Order(StringComparer.Ordinal).Select(id => $"{id} (2)"));
            Assert.Equal($"store s3://{Bucket}/long/eu: 2 sealed object(s), tenant(s) acme; recipient key ids: {ids}",
                Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-004").Message);
        }
        finally
        {
            keys.ForEach(k => k.Dispose());
        }
    }

    [Fact]
    public async Task EmptyPrefix_Passes_WithZeroObjects()
    {
        var report = await ScanAsync($"s3://{Bucket}/nothing-here");

        Assert.All(report.Results, r => Assert.Equal(Outcome.Pass, r.Outcome));
        Assert.Equal(["TS-DATA-005", "TS-DATA-001", "TS-DATA-002", "TS-DATA-004", "TS-DATA-006"], report.Results.Select(r => r.Rule.Id));
        Assert.All(report.Results, r => Assert.EndsWith("(0 objects)", r.Message, StringComparison.Ordinal));
        Assert.Equal(Report.ExitClean, await RunAsync($"s3://{Bucket}/nothing-here", s3.Endpoint));
    }

    [Fact]
    public async Task MissingBucket_IsOneFailure_ExitOne()
    {
        var report = await ScanAsync("s3://no-such-bucket/p");

        var result = Assert.Single(report.Results);
        Assert.Equal(("TS-DATA-005", Outcome.Fail), (result.Rule.Id, result.Outcome));
        Assert.StartsWith("could not list s3://no-such-bucket/p: ", result.Message, StringComparison.Ordinal);
        Assert.Contains("NoSuchBucket", result.Message, StringComparison.Ordinal);
        Assert.Equal(Report.ExitFindings, await RunAsync("s3://no-such-bucket/p", s3.Endpoint));
    }

    [Fact]
    public async Task UnreachableEndpoint_IsOneFailure_ExitOne()
    {
        string endpoint = $"http://127.0.0.1:{FreePort.Get()}";
        var report = await DataScanner.VerifyAsync($"s3://{Bucket}/p", endpoint, null, s3PathStyle: true, default);

        var result = Assert.Single(report.Results);
        Assert.Equal(("TS-DATA-005", Outcome.Fail), (result.Rule.Id, result.Outcome));
        Assert.StartsWith($"could not list s3://{Bucket}/p: ", result.Message, StringComparison.Ordinal);
        Assert.Equal(Report.ExitFindings, await RunAsync($"s3://{Bucket}/p", endpoint));
    }

    [Theory]
    [InlineData("s3:///prefix", null)]
    [InlineData("/tmp", "http://127.0.0.1:9")] // --s3-* flags with a directory
    public async Task BadTargets_AreUsageErrors(string target, string? endpoint) =>
        Assert.Equal(Report.ExitUsage, await RunAsync(target, endpoint));

    private Task<Report> ScanAsync(string target) => DataScanner.VerifyAsync(target, s3.Endpoint, null, s3PathStyle: true, default);

    private static Task<int> RunAsync(string target, string? endpoint) =>
        VerifyRunner.RunAsync(ct => DataScanner.VerifyAsync(target, endpoint, null, s3PathStyle: endpoint is not null, ct), "text", "fail", TextWriter.Null, TextWriter.Null, default);

    private async Task PutAsync(string key, byte[] content)
    {
        using var client = s3.Client();
        using var body = new MemoryStream(content);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = body, UseChunkEncoding = false });
    }

    private static byte[] PlaintextRequest()
    {
        var request = new ExportTraceServiceRequest();
        var span = new Span { Name = "GET /checkout", TraceId = ByteString.CopyFrom(new byte[16]), SpanId = ByteString.CopyFrom(new byte[8]) };
        request.ResourceSpans.Add(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span } } } });
        return request.ToByteArray();
    }
}
