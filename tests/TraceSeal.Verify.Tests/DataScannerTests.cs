using System.Security.Cryptography;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Sealing;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix modes are part of what is checked
public sealed class DataScannerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-verify-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [UnixFact]
    public void SealedPrivateFiles_Pass_AndTheRecipientsAreSummedUp()
    {
        Write("blocks/default/0001.block", SpecObjects.Sealed(0x02, "default", (SpecObjects.P256, 0xaa), (SpecObjects.P384, 0xbb)));
        Write("blocks/default/0001.index", SpecObjects.Sealed(0x03, "default", (SpecObjects.P256, 0xaa)));
        var report = DataScanner.Scan(_dir);

        Assert.All(report.Results, r => Assert.Equal(Outcome.Pass, r.Outcome));
        var summary = Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-004");
        Assert.Equal($"store {_dir}: 2 sealed object(s), tenant(s) default; recipient key ids: {SpecObjects.KeyId(0xaa)} (2), {SpecObjects.KeyId(0xbb)} (1)", summary.Message);
    }

    [UnixFact]
    public void WalSegments_AreCheckedFrameByFrame_AndATornTailIsNotAFinding()
    {
        byte[] sealedFrame = SpecObjects.Frame(SpecObjects.Sealed(0x01, "default", (SpecObjects.P256, 0x11)));
        byte[] tornTail = [0, 0, 1, 0, .. "TSEAL"u8, 0x01];
        Write("wal/default/1-aa.wal", [.. sealedFrame, .. sealedFrame, .. tornTail]);
        Write("wal/default/2-bb.wal", [.. sealedFrame, 0, 0, 0, 5, .. "hello"u8]);

        var findings = DataScanner.Scan(_dir).Results.Where(r => r.Outcome != Outcome.Pass && r.Rule.Id != "TS-DATA-003")
            .Select(r => (r.Rule.Id, Path.GetRelativePath(_dir, r.Location!.File), r.Message)).ToList();

        Assert.Equal([("TS-DATA-001", "wal/default/2-bb.wal", $"WAL frame 1 at offset {sealedFrame.Length} is not a sealed object of a known version")], findings);
    }

    [UnixFact]
    public void ForwardingQueues_AreFrames_AndIntegerCursorsAndTheCollectorId_AreThePlainFilesAllowed()
    {
        byte[] queueFrame = SpecObjects.Frame(SpecObjects.Sealed(0x04, "otlp", (SpecObjects.P256, 0x11)));
        Write("queue/a/1795223449-0000002a.queue", [.. queueFrame, .. queueFrame]);
        Write("queue/a/cursor", "1795223449 1 0\n"u8.ToArray());
        Write("queue/b/cursor", "GET /checkout user=42"u8.ToArray());
        Write("wal/default/forward-otlp.cursor", "1795223449 3 0\n"u8.ToArray());
        Write("wal/acme/forward-otlp.cursor", "user=42 token=abc"u8.ToArray());
        Write("collector.id", "0123456789abcdef\n"u8.ToArray());
        Write("wal/acme/collector.id", "GET /checkout?user=42 HTTP/1.1"u8.ToArray());

        var findings = DataScanner.Scan(_dir).Results.Where(r => r.Outcome != Outcome.Pass && r.Rule.Id != "TS-DATA-003")
            .Select(r => (r.Rule.Id, Path.GetRelativePath(_dir, r.Location!.File))).OrderBy(f => f.Item2, StringComparer.Ordinal).ToList();

        Assert.Equal([("TS-DATA-001", "queue/b/cursor"), ("TS-DATA-001", "wal/acme/collector.id"), ("TS-DATA-001", "wal/acme/forward-otlp.cursor")], findings);
    }

    [UnixFact]
    public void An_uploaded_marker_is_accepted_only_as_a_hash_beside_the_key_headers()
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData("s3://traces/blocks/default/2026/11/01/10/0123456789abcdef.block"u8));
        Write("wal/default/1795223449-0123456789abcdef.uploaded", System.Text.Encoding.ASCII.GetBytes(hash + "\n"));
        Write("wal/acme/1795223449-0123456789abcdef.uploaded", System.Text.Encoding.ASCII.GetBytes(("GET /checkout?user=42&token=" + hash)[..64] + "\n"));
        Write("wal/acme/notes.uploaded", System.Text.Encoding.ASCII.GetBytes(hash + "\n"));

        var findings = DataScanner.Scan(_dir).Results.Where(r => r.Outcome != Outcome.Pass && r.Rule.Id != "TS-DATA-003")
            .Select(r => (r.Rule.Id, Path.GetRelativePath(_dir, r.Location!.File))).OrderBy(f => f.Item2, StringComparer.Ordinal).ToList();

        Assert.Equal([("TS-DATA-001", "wal/acme/1795223449-0123456789abcdef.uploaded"), ("TS-DATA-001", "wal/acme/notes.uploaded")], findings);
    }

    [UnixFact]
    public void Headers_WithoutRecipients_OrMalformed_OrTruncated_AreFindings()
    {
        byte[] good = SpecObjects.Sealed(0x01, "default", (SpecObjects.P256, 0x11));
        byte[] nobody = SpecObjects.Sealed(0x01, "default");
        byte[] unknownStanza = SpecObjects.Sealed(0x02, "acme", (0x07, 0x22));
        byte[] unknownKind = SpecObjects.Sealed(0x09, "acme", (SpecObjects.P256, 0x22));
        Write("blocks/default/nobody.block", SpecObjects.Sealed(0x02, "default"));
        Write("blocks/acme/stanza.block", unknownStanza);
        Write("blocks/acme/kind.block", unknownKind);
        Write("blocks/acme/short.block", SpecObjects.Sealed(0x02, "acme", (SpecObjects.P384, 0x22))[..100]);
        Write("wal/default/1-aa.wal", [.. SpecObjects.Frame(good), .. SpecObjects.Frame(nobody)]);
        Write("wal/default/2-bb.wal", SpecObjects.Frame(good[..90]));

        var report = DataScanner.Scan(_dir);
        var findings = report.Results.Where(r => r.Outcome != Outcome.Pass)
            .Select(r => (r.Rule.Id, Path.GetRelativePath(_dir, r.Location!.File), r.Message)).ToList();

        Assert.Equal(
        [
            ("TS-DATA-001", "blocks/acme/kind.block", "sealed header is malformed: unknown kind 0x09"),
            ("TS-DATA-001", "blocks/acme/short.block", "sealed header is truncated: ends at byte 100, inside stanza 1 of 1"),
            ("TS-DATA-001", "blocks/acme/stanza.block", "sealed header is malformed: stanza 1 of 1 has unknown type 0x07"),
            ("TS-DATA-004", "blocks/default/nobody.block", "block of tenant default: stanza_count is 0: sealed to no recipient"),
            ("TS-DATA-004", "wal/default/1-aa.wal", $"WAL frame 1 at offset {4 + good.Length}: wal-segment of tenant default: stanza_count is 0: sealed to no recipient"),
            ("TS-DATA-001", "wal/default/2-bb.wal", "WAL frame 0 at offset 0: sealed header is truncated: ends at byte 90, inside stanza 1 of 1"),
        ], findings);
    }

    [UnixFact]
    public void Summary_IsPerStore_TheDirectoryHoldingStoreLock()
    {
        Write("eu/store.lock", []);
        Write("eu/blocks/default/a.block", SpecObjects.Sealed(0x02, "default", (SpecObjects.P256, 0x01)));
        Write("eu/wal/acme/1-aa.wal", [.. SpecObjects.Frame(SpecObjects.Sealed(0x01, "acme", (SpecObjects.P256, 0x01))), .. SpecObjects.Frame(SpecObjects.Sealed(0x01, "acme", (SpecObjects.P256, 0x01)))]);
        Write("us/store.lock", []);
        Write("us/blocks/default/b.block", SpecObjects.Sealed(0x02, "default", (SpecObjects.P384, 0x02)));

        var summaries = DataScanner.Scan(_dir).Results.Where(r => r.Rule.Id == "TS-DATA-004").Select(r => (r.Outcome, r.Message)).ToList();

        Assert.Equal(
        [
            (Outcome.Pass, $"store {Path.Combine(_dir, "eu")}: 3 sealed object(s), tenant(s) acme, default; recipient key ids: {SpecObjects.KeyId(0x01)} (3)"),
            (Outcome.Pass, $"store {Path.Combine(_dir, "us")}: 1 sealed object(s), tenant(s) default; recipient key ids: {SpecObjects.KeyId(0x02)} (1)"),
        ], summaries);
    }

    /// <summary>The verifier reads the spec, not the writer's code: objects from the real Sealer must parse, with
    /// the key ids the recipients report.</summary>
    [UnixFact]
    public void ObjectsFromTheRealSealer_ListTheirRecipientsKeyIds()
    {
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var p384 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        IRecipient[] recipients = [KeyFiles.ParseRecipient(p256.ExportSubjectPublicKeyInfoPem()), KeyFiles.ParseRecipient(p384.ExportSubjectPublicKeyInfoPem())];
        Write("store.lock", []);
        Write("blocks/tenant-ü/x.block", Sealer.Seal("block plaintext"u8, ObjectKind.Block, "tenant-ü", recipients));
        Write("wal/tenant-ü/1-aa.wal", SpecObjects.Frame(Sealer.Seal("frame"u8, ObjectKind.WalSegment, "tenant-ü", [recipients[1]])));

        var report = DataScanner.Scan(_dir);

        Assert.All(report.Results, r => Assert.True(r.Outcome == Outcome.Pass, $"{r.Rule.Id}: {r.Message}"));
        string[] ids = [.. recipients.Select(r => r.KeyId)];
        string expected = string.Join(", ", new[] { (ids[0], 1), (ids[1], 2) }.OrderBy(k => k.Item1, StringComparer.Ordinal).Select(k => $"{k.Item1} ({k.Item2})"));
        Assert.Equal($"store {_dir}: 2 sealed object(s), tenant(s) tenant-ü; recipient key ids: {expected}", Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-004").Message);
    }

    [UnixFact]
    public void PlaintextOtlp_UnsealedFile_UnknownVersion_WideModes()
    {
        var request = new ExportTraceServiceRequest();
        var span = new Span { Name = "GET /checkout", TraceId = ByteString.CopyFrom(new byte[16]), SpanId = ByteString.CopyFrom(new byte[8]) };
        request.ResourceSpans.Add(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span } } } });
        Write("buffer/batch-1.bin", request.ToByteArray());
        Write("traces.json", "{\"resourceSpans\":[]}"u8.ToArray());
        string other = Write("notes.txt", "hello"u8.ToArray());
        Write("block-2", [.. "TSEAL"u8, 0x09]);
        File.SetUnixFileMode(other, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var report = DataScanner.Scan(_dir);
        var findings = report.Results.Where(r => r.Outcome != Outcome.Pass).Select(r => (r.Rule.Id, Path.GetRelativePath(_dir, r.Location!.File), r.Message)).ToList();

        Assert.Contains(("TS-DATA-002", "buffer/batch-1.bin", "holds OTLP protobuf spans (1 readable span(s)) in plaintext"), findings);
        Assert.Contains(("TS-DATA-002", "traces.json", "holds OTLP/JSON spans in plaintext"), findings);
        Assert.Contains(("TS-DATA-001", "notes.txt", "not a sealed object (no TSEAL magic)"), findings);
        Assert.Contains(("TS-DATA-001", "block-2", "sealed magic with unknown version 0x09"), findings);
        Assert.Contains(("TS-DATA-003", "notes.txt", "file mode 0604, wider than 0600"), findings);
    }

    [Fact]
    public void MissingDirectory_IsUsageError() =>
        Assert.Throws<DirectoryNotFoundException>(() => DataScanner.Scan(Path.Combine(_dir, "nope")));

    private string Write(string relative, byte[] content)
    {
        string path = Path.Combine(_dir, relative);
        string parent = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(parent);
        for (string dir = parent; dir.Length > _dir.Length; dir = Path.GetDirectoryName(dir)!)
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
