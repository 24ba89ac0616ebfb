using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
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
    public void SealedPrivateFiles_Pass()
    {
        Write("wal/000001.seg", [.. "TSEAL"u8, 0x01, 0x02, 0x07]);
        var report = DataScanner.Scan(_dir);
        Assert.All(report.Results, r => Assert.Equal(Outcome.Pass, r.Outcome));
    }

    [UnixFact]
    public void WalSegments_AreCheckedFrameByFrame_AndATornTailIsNotAFinding()
    {
        byte[] sealedFrame = [0, 0, 0, 9, .. "TSEAL"u8, 0x01, 0x02, 0x07, 0x00];
        byte[] tornTail = [0, 0, 1, 0, .. "TSEAL"u8, 0x01];
        Write("wal/default/1-aa.wal", [.. sealedFrame, .. sealedFrame, .. tornTail]);
        Write("wal/default/2-bb.wal", [.. sealedFrame, 0, 0, 0, 5, .. "hello"u8]);

        var findings = DataScanner.Scan(_dir).Results.Where(r => r.Outcome != Outcome.Pass && r.Rule.Id != "TS-DATA-003")
            .Select(r => (r.Rule.Id, Path.GetRelativePath(_dir, r.Location!.File), r.Message)).ToList();

        Assert.Equal([("TS-DATA-001", "wal/default/2-bb.wal", "WAL frame 1 at offset 13 is not a sealed object of a known version")], findings);
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
        File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
