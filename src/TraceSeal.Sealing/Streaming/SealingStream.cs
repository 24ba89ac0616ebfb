using System.Security.Cryptography;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing.Streaming;

/// <summary>
/// Write-only stream that seals chunk by chunk into the destination (docs/format.md §5). A full chunk
/// is held back until the next byte arrives, because only then is it known not to be the last one.
/// Dispose writes the final chunk; the destination is flushed but not disposed.
/// </summary>
internal sealed class SealingStream : System.IO.Stream
{
    private readonly System.IO.Stream _destination;
    private readonly PayloadCipher _cipher;
    private readonly byte[] _plain = new byte[ChunkSize];
    private readonly byte[] _sealed = new byte[EncryptedChunkSize];
    private int _filled;
    private bool _disposed;

    public SealingStream(System.IO.Stream destination, byte[] header, PayloadCipher cipher)
    {
        _destination = destination;
        _cipher = cipher;
        _destination.Write(header);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_disposed;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!buffer.IsEmpty)
        {
            if (_filled == ChunkSize)
            {
                WriteChunk(last: false);
            }

            int n = Math.Min(ChunkSize - _filled, buffer.Length);
            buffer[..n].CopyTo(_plain.AsSpan(_filled));
            _filled += n;
            buffer = buffer[n..];
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() => _destination.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            try
            {
                WriteChunk(last: true);
                _destination.Flush();
            }
            finally
            {
                CryptographicOperations.ZeroMemory(_plain);
                _cipher.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private void WriteChunk(bool last)
    {
        int length = _filled + TagLength;
        _cipher.EncryptChunk(_plain.AsSpan(0, _filled), last, _sealed);
        _destination.Write(_sealed, 0, length);
        _filled = 0;
    }
}
