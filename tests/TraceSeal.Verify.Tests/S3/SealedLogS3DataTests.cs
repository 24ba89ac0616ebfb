using System.Security.Cryptography;
using Amazon.S3.Model;
using TraceSeal.Sealing;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Findings;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Verify.Tests.S3;

/// <summary>`verify data s3://...` on sealed logs (format v2) in a real s3rver bucket: walked without a key, bytes no frame covers reported by size.</summary>
[Collection(S3rverCollection.Name)]
public sealed class SealedLogS3DataTests(S3rverFixture s3)
{
    [Fact]
    public async Task A_complete_block_and_an_open_recovered_segment_pass_and_bytes_after_the_end_frame_do_not()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        IRecipient recipient = KeyFiles.ParseRecipient(key.ExportSubjectPublicKeyInfoPem());
        string prefix = "log-" + Guid.NewGuid().ToString("N")[..8];
        byte[] block = Log(recipient, frames: 3, end: true);
        await PutAsync($"{prefix}/blocks/acme/2026/01/02/03/00000000000000aa.block", block);
        await PutAsync($"{prefix}/blocks/acme/2026/01/02/03/1767322800-00000000000000bb.walseg", Log(recipient, frames: 2, end: false));
        await PutAsync($"{prefix}/blocks/acme/2026/01/02/03/00000000000000cc.block", [.. block, .. "trailing"u8]);

        var report = await DataScanner.VerifyAsync($"s3://{S3rverFixture.Bucket}/{prefix}", s3.Endpoint, null, true, CancellationToken.None);

        var findings = report.Results.Where(r => r.Outcome == Outcome.Fail).Select(r => (r.Rule.Id, r.Location?.File, r.Message)).ToList();
        Assert.Equal(
            [("TS-DATA-001", $"s3://{S3rverFixture.Bucket}/{prefix}/blocks/acme/2026/01/02/03/00000000000000cc.block", $"8 byte(s) after the end frame (offset {block.Length}): not sealed")],
            findings);
        Assert.Equal(
            $"store s3://{S3rverFixture.Bucket}/{prefix}: 3 sealed object(s), tenant(s) acme; recipient key ids: {recipient.KeyId} (3)",
            Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-004" && r.Outcome == Outcome.Pass).Message);
    }

    private static byte[] Log(IRecipient recipient, int frames, bool end)
    {
        using var writer = SealedLogWriter.Begin(ObjectKind.WalSegment, "acme", [recipient]);
        var bytes = new List<byte>(writer.Header.ToArray());
        byte[] record = [0x00, 0, 0, 0, 3, 1, 2, 3];
        for (int i = 0; i < frames; i++)
        {
            var frame = new byte[SealedLogWriter.SealedFrameLength(record.Length)];
            writer.SealFrame(record, frame);
            bytes.AddRange(frame);
        }

        if (end)
        {
            var endFrame = new byte[SealedLogWriter.EndFrameLength];
            writer.SealEnd(endFrame);
            bytes.AddRange(endFrame);
        }

        return [.. bytes];
    }

    private async Task PutAsync(string key, byte[] content)
    {
        using var client = s3.Client();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = key, InputStream = new MemoryStream(content), UseChunkEncoding = false });
    }
}
