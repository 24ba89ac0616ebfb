using System.Buffers;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// A growable buffer rented from <see cref="ArrayPool{T}.Shared"/> with a hard size limit. One per request;
/// returned to the pool on <see cref="Dispose"/>, which is why sinks must copy what they keep.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private const int MinimumSize = 4096;

    private readonly long _limit;
    private byte[] _buffer;
    private int _written;

    /// <param name="initialSize">A good guess (Content-Length, frame length) avoids regrowing.</param>
    /// <param name="limit">Writing more throws <see cref="PayloadTooLargeException"/>.</param>
    public PooledBufferWriter(long initialSize, long limit)
    {
        _limit = limit;
        _buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(initialSize, MinimumSize), Array.MaxLength));
    }

    public int WrittenCount => _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written))
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        Ensure(data.Length);
        data.CopyTo(_buffer.AsSpan(_written));
        _written += data.Length;
    }

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        // +1 so callers can tell "more than the limit" apart from "exactly the limit".
        long cap = Math.Max(_limit + 1, MinimumSize);
        long required = (long)_written + needed;
        if (required > cap)
        {
            PayloadTooLargeException.Throw();
        }

        long size = Math.Min(Math.Max(required, (long)_buffer.Length * 2), cap);
        byte[] next = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, Array.MaxLength));
        _buffer.AsSpan(0, _written).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = next;
    }
}

/// <summary>Thrown only by <see cref="PooledBufferWriter"/> when a payload outgrows its limit.</summary>
internal sealed class PayloadTooLargeException : Exception
{
    public PayloadTooLargeException()
        : base("payload exceeds the configured limit")
    {
    }

    [System.Diagnostics.StackTraceHidden]
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Throw() => throw new PayloadTooLargeException();
}
