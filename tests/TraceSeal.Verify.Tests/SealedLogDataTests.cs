using System.Security.Cryptography;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Sealing;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>
/// `verify data` on sealed logs (format v2, docs/format.md §14: v2 segments, the blocks they become, queue segments):
/// the header is checked like any sealed object's, the frames are walked without a key, and what no frame covers is
/// a finding — named by place and size, never by content.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix modes are part of what is checked
public sealed class SealedLogDataTests : IDisposable
{
    private const string SpanName = "GET /checkout?card=4111111111111111";
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-verify-log-").FullName;
    private readonly IRecipient _recipient;

    public SealedLogDataTests()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        _recipient = KeyFiles.ParseRecipient(key.ExportSubjectPublicKeyInfoPem());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [UnixFact]
    public void Live_recovered_and_complete_logs_pass_and_count_as_one_sealed_object_each()
    {
        Write("store.lock", []);
        Write("wal/acme/1767322801-00000000000000aa.wal", [.. Log(frames: 2, end: false), 0, 0, 1, 0, 7, 7]); // a frame being written
        Write("wal/acme/1767322802-00000000000000bb.wal", Log(frames: 0, end: false)[..30]); // its header being written
        Write("blocks/acme/2026/01/02/03/1767322800-00000000000000cc.walseg", Log(frames: 3, end: false));
        Write("blocks/acme/2026/01/02/03/00000000000000dd.block", Log(frames: 3, end: true));
        Write("queue/otlp/1767322803-00000000000000ee.queue", Log(frames: 1, end: false, ObjectKind.Queue));

        var report = DataScanner.Scan(_dir);

        Assert.All(report.Results, r => Assert.True(r.Outcome == Outcome.Pass, $"{r.Rule.Id}: {r.Message}"));
        Assert.Equal(
            $"store {_dir}: 4 sealed object(s), tenant(s) acme, otlp; recipient key ids: {_recipient.KeyId} (4)",
            Assert.Single(report.Results, r => r.Rule.Id == "TS-DATA-004").Message);
    }

    [UnixFact]
    public void Plaintext_after_the_end_frame_is_reported_by_size_and_never_shown()
    {
        byte[] log = Log(frames: 2, end: true);
        byte[] plaintext = PlaintextRequest();
        Write("blocks/acme/2026/01/02/03/00000000000000dd.block", [.. log, .. plaintext]);

        var findings = Findings();

        Assert.Equal(
            [("TS-DATA-002", "blocks/acme/2026/01/02/03/00000000000000dd.block",
              $"{plaintext.Length} byte(s) after the end frame (offset {log.Length}): they hold OTLP protobuf spans (1 readable span(s)) in plaintext")],
            findings);
        Assert.DoesNotContain(DataScanner.Scan(_dir).Results, r => r.Message.Contains("checkout", StringComparison.Ordinal));
    }

    [UnixFact]
    public void Bytes_that_are_no_whole_frame_are_unsealed_in_a_recovered_segment_and_a_block_but_not_in_a_live_one()
    {
        byte[] open = Log(frames: 2, end: false);
        byte[] torn = [0, 0, 1, 0, .. "not a frame"u8];
        Write("wal/acme/1767322801-00000000000000aa.wal", [.. open, .. torn]);
        Write("blocks/acme/2026/01/02/03/1767322800-00000000000000cc.walseg", [.. open, .. torn]);
        Write("blocks/acme/2026/01/02/03/00000000000000dd.block", [.. Log(frames: 1, end: true), 0, 0, 0, 16, .. new byte[16]]);

        var findings = Findings();

        Assert.Equal(
        [
            ("TS-DATA-001", "blocks/acme/2026/01/02/03/00000000000000dd.block", $"20 byte(s) after the end frame (offset {Log(frames: 1, end: true).Length}): not sealed"),
            ("TS-DATA-001", "blocks/acme/2026/01/02/03/1767322800-00000000000000cc.walseg", $"{torn.Length} byte(s) at offset {open.Length} are not a whole frame of the sealed log: not sealed"),
        ], findings);
    }

    [UnixFact]
    public void Zero_fill_after_the_last_frame_is_a_live_segment_s_own_and_unsealed_bytes_in_a_recovered_one()
    {
        byte[] open = Log(frames: 2, end: false);
        byte[] fill = new byte[1000]; // what direct I/O leaves up to the next 4 KiB boundary
        Write("wal/acme/1767322801-00000000000000aa.wal", [.. open, .. fill]);
        Write("blocks/acme/2026/01/02/03/1767322800-00000000000000cc.walseg", [.. open, .. fill]);

        Assert.Equal(
            [("TS-DATA-001", "blocks/acme/2026/01/02/03/1767322800-00000000000000cc.walseg",
              $"1000 zero byte(s) at offset {open.Length} follow the last frame (zero fill, cut by the collector before a segment leaves wal/): not sealed")],
            Findings());
    }

    [UnixFact]
    public void A_log_header_without_recipients_is_a_finding()
    {
        byte[] nobody = SpecObjects.Sealed(0x01, "acme");
        nobody[5] = 0x02; // version 2: a sealed log's header, same layout
        Write("wal/acme/1767322801-00000000000000aa.wal", nobody);

        Assert.Equal(
            [("TS-DATA-004", "wal/acme/1767322801-00000000000000aa.wal", "wal-segment of tenant acme: stanza_count is 0: sealed to no recipient")],
            Findings());
    }

    private List<(string, string, string)> Findings() =>
        [.. DataScanner.Scan(_dir).Results.Where(r => r.Outcome != Outcome.Pass && r.Rule.Id != "TS-DATA-003")
            .Select(r => (r.Rule.Id, Path.GetRelativePath(_dir, r.Location!.File), r.Message))];

    /// <summary>A sealed log made by the real writer: header, <paramref name="frames"/> frames of a record each, the end frame if <paramref name="end"/>.</summary>
    private byte[] Log(int frames, bool end, ObjectKind kind = ObjectKind.WalSegment)
    {
        using var writer = SealedLogWriter.Begin(kind, kind == ObjectKind.Queue ? "otlp" : "acme", [_recipient]);
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

    private static byte[] PlaintextRequest()
    {
        var request = new ExportTraceServiceRequest();
        var span = new Span { Name = SpanName, TraceId = ByteString.CopyFrom(new byte[16]), SpanId = ByteString.CopyFrom(new byte[8]) };
        request.ResourceSpans.Add(new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span } } } });
        return request.ToByteArray();
    }

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
