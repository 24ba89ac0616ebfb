using System.Security.Cryptography;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing.Streaming;

/// <summary>
/// Read-only stream of the plaintext of a sealed object whose header was already verified
/// (docs/format.md §5). Reads one byte past each full chunk to learn whether it is the last one.
/// Plaintext is released chunk by chunk, each chunk only after it authenticated; an integrity failure
/// surfaces as <see cref="SealedIntegrityException"/> from Read, so callers must read to the end
/// before trusting that the object was complete. The source is not disposed.
/// </summary>
internal sealed class OpeningStream : System.IO.Stream
{
    private readonly System.IO.Stream _source;
    private readonly PayloadCipher _cipher;
    private readonly byte[] _sealed = new byte[EncryptedChunkSize + 1];
    private readonly byte[] _plain = new byte[ChunkSize];
    private int _sealedHave;
    private int _plainPos;
    private int _plainLength;
    private bool _disposed;
    private SealedIntegrityException? _failure;

    public OpeningStream(System.IO.Stream source, PayloadCipher cipher)
    {
        _source = source;
        _cipher = cipher;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_plainPos == _plainLength)
        {
            if (_failure is not null)
            {
                // Sticky: after a failure the stream never yields more bytes.
                throw new SealedIntegrityException(_failure.Code);
            }

            if (_cipher.Finished)
            {
                return 0;
            }

            try
            {
                ReadNextChunk();
            }
            catch (SealedIntegrityException e)
            {
                _failure = e;
                throw;
            }
        }

        int n = Math.Min(buffer.Length, _plainLength - _plainPos);
        _plain.AsSpan(_plainPos, n).CopyTo(buffer);
        _plainPos += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            CryptographicOperations.ZeroMemory(_plain);
            _cipher.Dispose();
        }

        base.Dispose(disposing);
    }

    private void ReadNextChunk()
    {
        while (_sealedHave < _sealed.Length)
        {
            int n = _source.Read(_sealed, _sealedHave, _sealed.Length - _sealedHave);
            if (n == 0)
            {
                break;
            }

            _sealedHave += n;
        }

        bool lastPosition = _sealedHave <= EncryptedChunkSize;
        int chunkLength = lastPosition ? _sealedHave : EncryptedChunkSize;
        _plainLength = _cipher.DecryptChunk(_sealed.AsSpan(0, chunkLength), lastPosition, _plain);
        _plainPos = 0;
        if (!lastPosition)
        {
            // Keep the look-ahead byte: it starts the next chunk.
            _sealed[0] = _sealed[EncryptedChunkSize];
            _sealedHave = 1;
        }
    }
}
