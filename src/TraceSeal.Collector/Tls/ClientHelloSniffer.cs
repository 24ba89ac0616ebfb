using System.Buffers;
using System.IO.Pipelines;

namespace TraceSeal.Collector.Tls;

/// <summary>
/// Sits between the socket and Kestrel's TLS middleware and keeps a copy of the first bytes the client sent,
/// so a refused handshake can be classified (plaintext HTTP, h2c, an old TLS version) without parsing
/// anything on the success path. Everything else is passed through unchanged.
/// </summary>
internal sealed class ClientHelloSniffer : PipeReader
{
    // RFC 8446 §5.1 / §4.1.2, the start of every ClientHello:
    //   [0]    ContentType   = 22 (handshake)
    //   [1..2] legacy_record_version
    //   [3..4] length
    //   [5]    HandshakeType = 1 (client_hello)
    //   [6..8] length
    //   [9..10] legacy_version (0x0301 TLS 1.0 .. 0x0303 TLS 1.2; TLS 1.3 also says 0x0303 and lists 0x0304 in supported_versions)
    private const int HeadLength = 11;
    private const byte HandshakeRecord = 22;
    private const byte ClientHelloType = 1;

    private readonly PipeReader _inner;
    private readonly byte[] _head = new byte[HeadLength];
    private int _headLength = -1; // -1 = nothing seen yet

    public ClientHelloSniffer(PipeReader inner) => _inner = inner;

    /// <summary>Classifies a refused handshake from the captured bytes.</summary>
    public HandshakeFailure Classify(ushort minWireVersion) => Classify(_head.AsSpan(0, Math.Max(_headLength, 0)), minWireVersion);

    /// <summary>Pure: the reason a handshake that started with <paramref name="head"/> failed, as far as the bytes tell.</summary>
    public static HandshakeFailure Classify(ReadOnlySpan<byte> head, ushort minWireVersion)
    {
        if (head.IsEmpty)
        {
            return HandshakeFailure.NoClientHello;
        }

        if (head[0] != HandshakeRecord)
        {
            return HandshakeFailure.NotTls;
        }

        if (head.Length >= HeadLength && head[5] == ClientHelloType)
        {
            int offered = (head[9] << 8) | head[10];
            if (offered < minWireVersion)
            {
                return HandshakeFailure.ProtocolVersion;
            }
        }

        return HandshakeFailure.Other;
    }

    /// <summary>
    /// Every read of the connection's life passes here (Kestrel's TLS stream reads through this reader); once the head
    /// is captured it is handed straight through, with no state machine of its own per read.
    /// </summary>
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        _headLength >= 0 ? _inner.ReadAsync(cancellationToken) : CaptureAsync(cancellationToken);

    public override bool TryRead(out ReadResult result)
    {
        bool read = _inner.TryRead(out result);
        if (read)
        {
            Capture(result.Buffer);
        }

        return read;
    }

    public override void AdvanceTo(SequencePosition consumed) => _inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => _inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    private async ValueTask<ReadResult> CaptureAsync(CancellationToken cancellationToken)
    {
        ReadResult result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        Capture(result.Buffer);
        return result;
    }

    private void Capture(ReadOnlySequence<byte> buffer)
    {
        // Only the first non-empty read: a ClientHello is never split before byte 11 in practice, and if it is,
        // classification falls back to "other" rather than guessing.
        if (_headLength >= 0 || buffer.IsEmpty)
        {
            return;
        }

        int length = (int)Math.Min(buffer.Length, HeadLength);
        buffer.Slice(0, length).CopyTo(_head);
        _headLength = length;
    }
}
