using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// One queue segment file, shared by the writer loop and the sender (docs/format.md §13). A v2 segment is a sealed
/// log (§14, kind queue); a v1 segment, left by an older version, is a run of per-frame sealed objects that is
/// only read (<see cref="QueueSegmentV1"/>). Either way the sender sees the same thing: frames by index, where
/// each lies and how many bytes it holds.
/// <list type="bullet">
/// <item>The writer publishes a frame (<see cref="Publish"/>) only after it is fsync'd, so the sender never reads
/// past what was acknowledged (nor into a frame being written).</item>
/// <item><see cref="Retire"/>: the writer appends no more (rolled, broken, caught up, or stopping); it is called
/// after the last <see cref="Publish"/>, so a reader that sees <see cref="Retired"/> and then reads
/// <see cref="FrameCount"/> has the final count.</item>
/// <item>Deleting takes two parties: the writer has let go of the file (<see cref="MarkClosed"/>: end frame
/// written, or the segment was recovered at start) and the sender has passed its last frame
/// (<see cref="MarkFinished"/>); whichever comes second deletes it.</item>
/// </list>
/// </summary>
/// <param name="recovered">The frames of a segment left by an earlier run, as recovery found them (it is then retired
/// and closed); null for a live segment, written by the queue's writer loop.</param>
/// <param name="keyHeader">A WAL segment read by a forwarder: its key header (docs/format.md §14.11), verified instead of
/// the segment's own header, which names the store's recipients only.</param>
/// <param name="sharedFile">A WAL segment: a read handle that stays valid when the segment is renamed into blocks/.</param>
internal sealed class QueueSegment(ulong seq, string id, string path, bool isV1 = false, List<LogFrame>? recovered = null,
    byte[]? keyHeader = null, Microsoft.Win32.SafeHandles.SafeFileHandle? sharedFile = null)
{
    private const int ClosedFlag = 1;
    private const int FinishedFlag = 2;

    private readonly Lock _lock = new();
    private readonly List<LogFrame> _frames = recovered ?? [];
    private volatile bool _retired = recovered is not null;
    private int _state = recovered is not null ? ClosedFlag : 0;

    public ulong Seq => seq;

    /// <summary>The id part of the file name: 16 hex digits of the log's object id (v2), 8 of the segment id (v1).</summary>
    public string Id => id;

    public string Path => path;

    public byte[]? KeyHeader => keyHeader;

    public Microsoft.Win32.SafeHandles.SafeFileHandle? SharedFile => sharedFile;

    /// <summary>Left by an older version: per-frame sealed objects (docs/format.md §13.1).</summary>
    public bool IsV1 => isV1;

    /// <summary>Data frames that are durable (the end frame is never counted).</summary>
    public int FrameCount
    {
        get
        {
            lock (_lock)
            {
                return _frames.Count;
            }
        }
    }

    /// <summary>The writer appends nothing more to it.</summary>
    public bool Retired => _retired;

    public bool IsFinished => (Volatile.Read(ref _state) & FinishedFlag) != 0;

    public LogFrame Frame(uint index)
    {
        lock (_lock)
        {
            return _frames[(int)index];
        }
    }

    /// <summary>
    /// Bytes frame <paramref name="index"/> accounts for: from the end of the frame before it (frame 0 carries the
    /// header, written with it), so what the sender releases frame by frame adds up to what the writer counted.
    /// </summary>
    public long FrameBytes(uint index)
    {
        lock (_lock)
        {
            return _frames[(int)index].End - (index == 0 ? 0 : _frames[(int)index - 1].End);
        }
    }

    /// <summary>Bytes of frame <paramref name="index"/> and every frame after it (what is left to forward).</summary>
    public long BytesFrom(uint index)
    {
        lock (_lock)
        {
            return index >= _frames.Count ? 0 : _frames[^1].End - (index == 0 ? 0 : _frames[(int)index - 1].End);
        }
    }

    internal void Publish(LogFrame frame)
    {
        lock (_lock)
        {
            _frames.Add(frame);
        }
    }

    internal void Retire() => _retired = true;

    /// <summary>The writer let go of the file. True when the sender had already finished it: the caller deletes it.</summary>
    internal bool MarkClosed() => (Interlocked.Or(ref _state, ClosedFlag) & FinishedFlag) != 0;

    /// <summary>The sender passed its last frame. True when the writer had already let go of it: the caller deletes it.</summary>
    internal bool MarkFinished() => (Interlocked.Or(ref _state, FinishedFlag) & ClosedFlag) != 0;
}
