using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Data;

/// <summary>Reads up to <paramref name="count"/> bytes at <paramref name="offset"/> of one object (fewer only at its end).</summary>
internal delegate Task<byte[]> ReadRange(long offset, int count, CancellationToken cancellationToken);

/// <summary>Walks one object with the store's keyless <see cref="LogScan"/> (as a sealed log, or <paramref name="v1"/> frames): a file by its length prefixes, an object from its bytes.</summary>
internal delegate Task<LogScan> ScanLog(bool v1, CancellationToken cancellationToken);

/// <summary>
/// The content checks of `verify data`, shared by directories (<see cref="DataScanner"/>) and object storage
/// (<see cref="S3DataScanner"/>): through <see cref="ReadRange"/> they read only the first bytes a check needs —
/// a sealed header, one v1 WAL frame's header at a time — and up to <see cref="MaxInspectBytes"/> only
/// for the plaintext-OTLP heuristic on data that is not sealed. A sealed log (v2 segment or block, queue segment;
/// docs/format.md §14) and a v1 segment (§12.2) are walked frame by frame by <see cref="ScanLog"/>. Findings say where and how much, never
/// what: no byte of a file's content is echoed.
/// </summary>
internal static partial class ObjectChecks
{
    /// <summary>Enough for the protobuf heuristic on any realistic spill file without reading a whole block.</summary>
    public const int MaxInspectBytes = 16 * 1024 * 1024;

    /// <summary>A forwarding queue's `cursor`, or a WAL forwarder's `wal/TENANT/forward-ID.cursor` (§14.11).</summary>
    private static bool IsQueueCursor(string name, long length)
    {
        if (length > 64)
        {
            return false;
        }

        string file = Path.GetFileName(name.Replace('\\', '/'));
        return file == "cursor" || (file.StartsWith("forward-", StringComparison.Ordinal) && file.EndsWith(".cursor", StringComparison.Ordinal));
    }

    /// <summary>`wal/TENANT/SEQ-ID.uploaded` (§14.11): with `s3`, a segment kept for a forwarder is in the bucket already.</summary>
    private static bool IsUploadedMarker(string name, long length) =>
        length == UploadedMarkerLength && UploadedMarkerName().IsMatch(Path.GetFileName(name.Replace('\\', '/')));

    /// <summary>64 hex digits and a newline: the SHA-256 of the object's location in the bucket.</summary>
    private const int UploadedMarkerLength = 65;

    /// <summary>`DIRECTORY/collector.id` (§15.3): a random id the collector keeps for its object-store prefix.</summary>
    private static bool IsCollectorId(string name, long length) =>
        length <= 80 && Path.GetFileName(name.Replace('\\', '/')) == "collector.id";

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{1,20} \d{1,10} \d{1,10}\s*$")]
    private static partial System.Text.RegularExpressions.Regex CursorLine();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9._-]{1,64}\n?$")]
    private static partial System.Text.RegularExpressions.Regex CollectorIdLine();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[0-9]{10}-[0-9a-f]{16}\.uploaded$")]
    private static partial System.Text.RegularExpressions.Regex UploadedMarkerName();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[0-9a-f]{64}\n$")]
    private static partial System.Text.RegularExpressions.Regex UploadedMarkerLine();

    /// <summary>First read of a sealed header: holds any header with up to ~20 recipients; a longer one is read again
    /// up to <see cref="SealedHeader.MaxLength"/>.</summary>
    private const int HeadBytes = 4096;

    /// <param name="name">The file or object name (`.wal`, `.walseg` and `.queue` are segments: v1 ones are checked frame by frame).</param>
    public static async Task CheckAsync(Report report, StoreSummary store, string name, SourceLocation at, long length, ReadRange read, ScanLog scanLog, CancellationToken ct)
    {
        if (length == 0)
        {
            return; // nothing to leak; writers create files before the first record
        }

        if (IsQueueCursor(name, length))
        {
            // A forwarding queue's cursor (docs/format.md §13) is the one plain file TraceSeal writes: three
            // integers `SEQ FRAME RECORD`. Anything else under that name is checked like any other file.
            byte[] text = await read(0, (int)length, ct).ConfigureAwait(false);
            if (CursorLine().IsMatch(System.Text.Encoding.ASCII.GetString(text)))
            {
                return;
            }
        }

        if (IsUploadedMarker(name, length))
        {
            // A marker of the `s3` uploader (§14.11): the SHA-256 of where a kept segment lies in the bucket. It says
            // nothing about the data; anything else under such a name is checked like any other file.
            byte[] text = await read(0, (int)length, ct).ConfigureAwait(false);
            if (UploadedMarkerLine().IsMatch(System.Text.Encoding.ASCII.GetString(text)))
            {
                return;
            }
        }

        if (IsCollectorId(name, length))
        {
            // The other plain file: an id the collector made from random bytes (or its configured collector_id), the
            // name of its prefix in a shared bucket. It says nothing about the data; anything else under the name is
            // checked like any other file.
            byte[] text = await read(0, (int)length, ct).ConfigureAwait(false);
            if (CollectorIdLine().IsMatch(System.Text.Encoding.ASCII.GetString(text)))
            {
                return;
            }
        }

        byte[] head = await ReadHeaderAsync(read, 0, length, first: null, ct).ConfigureAwait(false);
        if (SealedMagic.IsVersion(head, SealedMagic.LogVersion))
        {
            await CheckLogAsync(report, store, name, at, length, head, read, scanLog, ct).ConfigureAwait(false);
            return;
        }

        if (!SealedMagic.HasMagic(head) && (name.EndsWith(".wal", StringComparison.Ordinal) || name.EndsWith(".walseg", StringComparison.Ordinal)
                                            || name.EndsWith(".queue", StringComparison.Ordinal)))
        {
            await CheckWalFramesAsync(report, store, name, at, length, read, scanLog, ct).ConfigureAwait(false);
            return;
        }

        if (SealedMagic.HasMagic(head))
        {
            if (!SealedMagic.IsKnownVersion(head))
            {
                string version = head.Length > SealedMagic.Magic.Length ? $"0x{head[SealedMagic.Magic.Length]:x2}" : "missing";
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"sealed magic with unknown version {version}", at));
                return;
            }

            CheckHeader(report, store, at, head, where: null);
            return;
        }

        byte[] content = length > head.Length ? await read(0, (int)Math.Min(length, MaxInspectBytes), ct).ConfigureAwait(false) : head;
        if (PlaintextOtlp.Detect(content, out string what))
        {
            report.Add(CheckResult.Finding(Catalogue.DataPlaintextOtlp, $"holds {what} in plaintext", at));
            return;
        }

        report.Add(CheckResult.Finding(Catalogue.DataNotSealed, "not a sealed object (no TSEAL magic)", at));
    }

    /// <summary>
    /// A sealed log: one sealed header, then frames `[u32 length][sealed]` to the end (an end frame closes it). The
    /// header is parsed like any other; the frames are walked by <paramref name="scanLog"/> without a key. Frames are
    /// ciphertext or nothing; what a keyless walk can find unsealed is bytes after the end frame, and — outside a live
    /// segment (`.wal`, `.queue`), whose writer may be in the middle of a frame or of the header — bytes that are not
    /// a whole frame (the collector cuts such a tail before it moves a segment to `.walseg` or a block).
    /// </summary>
    private static async Task CheckLogAsync(Report report, StoreSummary store, string name, SourceLocation at, long length, byte[] head, ReadRange read, ScanLog scanLog, CancellationToken ct)
    {
        bool live = IsLive(name);
        var header = SealedHeader.Parse(head.AsSpan(0, Math.Min(head.Length, SealedHeader.MaxLength)));
        if (live && header.Problem == SealedHeader.Problem.Truncated && head.Length == length)
        {
            return; // the header goes out with the first frame; a live segment may be caught in that write
        }

        if (!CheckHeader(report, store, at, head, where: null))
        {
            return;
        }

        LogScan scan;
        try
        {
            scan = await scanLog(v1: false, ct).ConfigureAwait(false);
        }
        catch (SealedIntegrityException e)
        {
            report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"sealed log header is unreadable ({e.Code})", at));
            return;
        }

        long end = scan.GoodLength;
        switch (scan.Tail)
        {
            case LogTail.TrailingData:
                await ReportUnsealedAsync(report, at, read, end, length, $"{length - end} byte(s) after the end frame (offset {end})", ct).ConfigureAwait(false);
                break;
            case LogTail.Torn when !live:
                await ReportUnsealedAsync(report, at, read, end, length, $"{length - end} byte(s) at offset {end} are not a whole frame of the sealed log", ct).ConfigureAwait(false);
                break;
            case LogTail.Open when !live && end < length:
                // Direct I/O's zero fill belongs to a live segment only: closing and recovery cut it.
                await ReportUnsealedAsync(report, at, read, end, length, $"{length - end} zero byte(s) at offset {end} follow the last frame (zero fill, cut by the collector before a segment leaves wal/)", ct).ConfigureAwait(false);
                break;
            default:
                break; // complete, open (a live or recovered segment), or a live segment's frame still being written
        }
    }

    /// <summary>Bytes of a sealed log that no frame covers: plaintext OTLP if they parse as such (counted, never shown), else unsealed.</summary>
    private static async Task ReportUnsealedAsync(Report report, SourceLocation at, ReadRange read, long offset, long length, string what, CancellationToken ct)
    {
        byte[] bytes = await read(offset, (int)Math.Min(length - offset, MaxInspectBytes), ct).ConfigureAwait(false);
        report.Add(PlaintextOtlp.Detect(bytes, out string found)
            ? CheckResult.Finding(Catalogue.DataPlaintextOtlp, $"{what}: they hold {found} in plaintext", at)
            : CheckResult.Finding(Catalogue.DataNotSealed, $"{what}: not sealed", at));
    }

    /// <summary>A live segment (`.wal`, `.queue`): its writer may be in the middle of a frame (or of a log's header).</summary>
    private static bool IsLive(string name) => name.EndsWith(".wal", StringComparison.Ordinal) || name.EndsWith(".queue", StringComparison.Ordinal);

    /// <summary>
    /// A v1 WAL segment (live `.wal` or recovered `.walseg`; a v1 forwarding queue segment) is a run of frames
    /// `[u32 BE length][sealed object]` (docs/format.md §12), walked by <see cref="ScanLog"/> (v1): every frame must be a
    /// sealed object of version 1, the last one included (the walk calls a last frame whose header fails torn; here it is
    /// a finding like any other). Bytes that are not a whole frame are a torn tail: in a live segment the writer's, not
    /// a finding; elsewhere (the collector cut it before the move to `.walseg`) reported as for a sealed log.
    /// </summary>
    private static async Task CheckWalFramesAsync(Report report, StoreSummary store, string name, SourceLocation at, long length, ReadRange read, ScanLog scanLog, CancellationToken ct)
    {
        LogScan scan = await scanLog(v1: true, ct).ConfigureAwait(false);
        bool tornHeader = scan.Tail == LogTail.Torn && scan.Code != StoreCodes.PartialWrite;
        for (int frame = 0; frame < scan.Frames.Count + (tornHeader ? 1 : 0); frame++)
        {
            long offset = frame < scan.Frames.Count ? scan.Frames[frame].Offset : scan.GoodLength;
            long frameLength = frame < scan.Frames.Count ? scan.Frames[frame].SealedLength : length - offset - LogScan.PrefixLength;
            string where = $"WAL frame {frame} at offset {offset}";
            byte[] sealedHead = await ReadHeaderAsync(read, offset + LogScan.PrefixLength, frameLength, first: null, ct).ConfigureAwait(false);
            if (!SealedMagic.IsVersion(sealedHead, SealedMagic.ObjectVersion))
            {
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"{where} is not a sealed object of a known version", at));
                return;
            }

            // One finding per file: after a bad frame the rest of the segment says nothing new.
            if (!CheckHeader(report, store, at, sealedHead, where))
            {
                return;
            }
        }

        if (!tornHeader && scan.V1TornCode(IsLive(name)) is not null)
        {
            long end = scan.GoodLength;
            await ReportUnsealedAsync(report, at, read, end, length, $"{length - end} byte(s) at offset {end} are not a whole frame", ct).ConfigureAwait(false);
        }
    }

    /// <summary>The start of a (possibly) sealed object of <paramref name="available"/> bytes at <paramref name="offset"/>:
    /// <see cref="HeadBytes"/> first (or <paramref name="first"/>, already read), all of a longer header only when needed.</summary>
    private static async Task<byte[]> ReadHeaderAsync(ReadRange read, long offset, long available, ReadOnlyMemory<byte>? first, CancellationToken ct)
    {
        byte[] head = first is { } bytes ? bytes.ToArray() : await read(offset, (int)Math.Min(available, HeadBytes), ct).ConfigureAwait(false);
        if (available > head.Length && head.Length < SealedHeader.MaxLength && SealedMagic.HasMagic(head) && SealedMagic.IsKnownVersion(head)
            && SealedHeader.Parse(head).Problem == SealedHeader.Problem.Truncated)
        {
            head = await read(offset, (int)Math.Min(available, SealedHeader.MaxLength), ct).ConfigureAwait(false);
        }

        return head;
    }

    /// <summary>Parses the header; a well-formed one is added to the store's summary. False after a finding.</summary>
    private static bool CheckHeader(Report report, StoreSummary store, SourceLocation at, ReadOnlySpan<byte> sealedObject, string? where)
    {
        var header = SealedHeader.Parse(sealedObject[..Math.Min(sealedObject.Length, SealedHeader.MaxLength)]);
        string prefix = where is null ? string.Empty : where + ": ";
        switch (header.Problem)
        {
            case SealedHeader.Problem.None:
                store.Add(header);
                return true;
            case SealedHeader.Problem.NoRecipient:
                store.Add(header);
                report.Add(CheckResult.Finding(Catalogue.DataNoRecipient, $"{prefix}{header.KindName} of tenant {header.Tenant}: {header.Detail}", at));
                return false;
            default:
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"{prefix}sealed header is {(header.Problem == SealedHeader.Problem.Truncated ? "truncated" : "malformed")}: {header.Detail}", at));
                return false;
        }
    }
}

/// <summary>One store's sealed objects: how many, which tenants, and each recipient key id with its object count.</summary>
internal sealed class StoreSummary(string root)
{
    private readonly SortedSet<string> _tenants = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _keyIds = new(StringComparer.Ordinal);

    public string Root { get; } = root;

    public int Objects { get; private set; }

    public void Add(SealedHeader.Result header)
    {
        Objects++;
        _tenants.Add(header.Tenant);
        foreach (string keyId in header.KeyIds ?? [])
        {
            _keyIds[keyId] = _keyIds.GetValueOrDefault(keyId) + 1;
        }
    }

    /// <summary>The summary line: how many objects, which tenants, and each recipient key id with the
    /// number of objects sealed to it (an id on fewer objects than the total is a key added or dropped).</summary>
    public string Describe() =>
        $"store {Root}: {Objects} sealed object(s), tenant(s) {string.Join(", ", _tenants)}; recipient key ids: " +
        (_keyIds.Count == 0 ? "none" : string.Join(", ", _keyIds.Select(k => $"{k.Key} ({k.Value})")));
}
