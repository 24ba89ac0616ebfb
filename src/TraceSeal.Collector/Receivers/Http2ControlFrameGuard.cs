using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// Counts the HTTP/2 PING and SETTINGS frames a client sends, on the decrypted stream just before Kestrel's HTTP/2
/// parser reads it, and closes the connection when there are more than <see cref="MaxControlFrames"/> in a
/// <see cref="Window"/>. Kestrel answers every PING with a PING ACK and every SETTINGS with a SETTINGS ACK and has
/// no setting that limits how many a peer may send (its own flood guards cover RST_STREAM — "rapid reset" — and
/// CONTINUATION), so without this a client holding a valid certificate can keep a core busy answering them
/// (2.9 million frames in 30 s in issue 14's test) on a connection that never carries a request.
/// </summary>
/// <remarks>
/// <para>Legitimate clients send a SETTINGS frame (and ACKs) when the connection starts and a PING now and then
/// (keepalive, or to estimate bandwidth when they receive data: OTLP responses are a few bytes); 100 in 10 s is
/// far above that and far below a flood.</para>
/// <para>Frame layout (RFC 9113 §4.1), after the 24-octet client connection preface (§3.4):</para>
/// <code>
///   Length (24) | Type (8) | Flags (8) | R (1) | Stream Identifier (31) | Frame Payload (Length octets)
/// </code>
/// <para>Only frame headers are read; nothing is copied or allocated per frame. The reader tracks the absolute
/// offset of the next frame header across reads, so frames split across reads are counted once.</para>
/// </remarks>
internal sealed class Http2ControlFrameGuard : PipeReader
{
    public const int MaxControlFrames = 100;

    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private const int PrefaceLength = 24;
    private const int FrameHeaderLength = 9;
    private const byte SettingsType = 0x4;
    private const byte PingType = 0x6;

    private readonly PipeReader _inner;
    private readonly Action _onFlood;
    private readonly TimeProvider _time;
    private ReadOnlySequence<byte> _last;
    private long _bufferStart; // absolute offset of _last's first byte
    private long _nextHeader = PrefaceLength;
    private long _windowStart;
    private int _inWindow;
    private bool _flooded;

    public Http2ControlFrameGuard(PipeReader inner, Action onFlood, TimeProvider? time = null)
    {
        _inner = inner;
        _onFlood = onFlood;
        _time = time ?? TimeProvider.System;
        _windowStart = _time.GetTimestamp();
    }

    /// <summary>
    /// Every read of Kestrel's HTTP/2 loop passes here: data already buffered is inspected without a state machine, and
    /// a read that has to wait reuses pooled ones (<see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/>) instead of
    /// allocating one per wait.
    /// </summary>
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ValueTask<ReadResult> read = _inner.ReadAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            ReadResult result = read.Result;
            Inspect(result.Buffer);
            return ValueTask.FromResult(result);
        }

        return InspectAsync(read);
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!_inner.TryRead(out result))
        {
            return false;
        }

        Inspect(result.Buffer);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _bufferStart += _last.Slice(0, consumed).Length;
        _last = default;
        _inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> InspectAsync(ValueTask<ReadResult> read)
    {
        ReadResult result = await read.ConfigureAwait(false);
        Inspect(result.Buffer);
        return result;
    }

    private void Inspect(ReadOnlySequence<byte> buffer)
    {
        _last = buffer;
        if (_flooded)
        {
            return;
        }

        Span<byte> header = stackalloc byte[FrameHeaderLength];
        long end = _bufferStart + buffer.Length;
        while (_nextHeader + FrameHeaderLength <= end)
        {
            long offset = _nextHeader - _bufferStart;
            if (offset < 0)
            {
                return; // the parser consumed past a frame boundary we expected: not HTTP/2 as we know it; stop counting
            }

            buffer.Slice(offset, FrameHeaderLength).CopyTo(header);
            int length = (header[0] << 16) | (header[1] << 8) | header[2];
            byte type = header[3];
            _nextHeader += FrameHeaderLength + length;
            if (type is PingType or SettingsType && Count())
            {
                _flooded = true;
                _onFlood();
                return;
            }
        }
    }

    /// <summary>Counts one control frame; true when the window's allowance is exceeded.</summary>
    private bool Count()
    {
        long now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_windowStart, now) >= Window)
        {
            _windowStart = now;
            _inWindow = 0;
        }

        return ++_inWindow > MaxControlFrames;
    }
}
