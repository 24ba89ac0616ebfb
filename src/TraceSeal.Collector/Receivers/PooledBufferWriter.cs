using System.Buffers;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// A growable buffer rented from <see cref="ArrayPool{T}.Shared"/> (up to 1 MiB) with a hard size limit. One per
/// request; returned to the pool on <see cref="Dispose"/>, which is why sinks must copy what they keep.
/// </summary>
/// <remarks>
/// <para>Only buffers up to <see cref="PooledMaximum"/> come from the pool. Larger ones (rare: most OTLP requests
/// are tens to hundreds of KiB) are allocated and left to the GC, because <see cref="ArrayPool{T}.Shared"/> keeps
/// returned arrays for at least a minute (and then trims one per collection): after a burst of 20 MiB bodies it would
/// hold hundreds of MiB that no collection can give back, and a `memory_limiter` with a modest limit would refuse for
/// minutes after the memory was free. Unpooled, those bytes are garbage the limiter's collection reclaims.</para>
/// <para>With an <see cref="AdmissionBudget"/>, the size asked of the pool is reserved in the budget before each rent
/// (the initial one in <see cref="TryCreate"/>, each regrowth in <see cref="Ensure"/>) and released by
/// <see cref="Dispose"/>: the budget then counts exactly the request buffers held. A regrowth the budget refuses
/// throws <see cref="AdmissionRefusedException"/> (the <see cref="IBufferWriter{T}"/> contract has no other way
/// out of a decompressor or a transcoder); the handlers turn it into a retryable refusal.</para>
/// </remarks>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    /// <summary>The smallest buffer rented, whatever the guess; admission sizing counts it (<c>AdmissionSettings</c>).</summary>
    public const int MinimumSize = 4096;

    /// <summary>The largest buffer taken from (and given back to) <see cref="ArrayPool{T}.Shared"/>; see the remarks.</summary>
    public const int PooledMaximum = 1024 * 1024;

    private readonly long _limit;
    private readonly AdmissionBudget? _budget;
    private byte[] _buffer;
    private int _written;

    /// <summary>Bytes reserved in <see cref="_budget"/> for the current buffer; given back by <see cref="Dispose"/>.</summary>
    private long _reserved;

    /// <param name="initialSize">A good guess (Content-Length, frame length) avoids regrowing.</param>
    /// <param name="limit">Writing more throws <see cref="PayloadTooLargeException"/>.</param>
    public PooledBufferWriter(long initialSize, long limit)
        : this(InitialSize(initialSize), limit, budget: null)
    {
    }

    private PooledBufferWriter(int initialSize, long limit, AdmissionBudget? budget)
    {
        _limit = limit;
        _budget = budget;
        _reserved = budget is null ? 0 : initialSize;
        _buffer = Rent(initialSize);
    }

    /// <summary>
    /// Reserves the initial size in <paramref name="budget"/>, then rents; false (nothing rented, nothing reserved)
    /// when the budget cannot hold it.
    /// </summary>
    public static bool TryCreate(long initialSize, long limit, AdmissionBudget budget, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PooledBufferWriter? writer)
    {
        int size = InitialSize(initialSize);
        if (!budget.TryReserve(size))
        {
            writer = null;
            return false;
        }

        writer = new PooledBufferWriter(size, limit, budget);
        return true;
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
        Return(buffer);
        long reserved = _reserved;
        _reserved = 0;
        if (reserved > 0)
        {
            _budget!.Release(reserved);
        }
    }

    private static int InitialSize(long guess) => (int)Math.Min(Math.Max(guess, MinimumSize), Array.MaxLength);

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

        long size = Math.Min(Math.Min(Math.Max(required, (long)_buffer.Length * 2), cap), Array.MaxLength);
        if (_budget is not null)
        {
            // The growth is reserved before the larger buffer is rented; the old one goes back just below.
            long growth = size - _reserved;
            if (growth > 0)
            {
                if (!_budget.TryReserve(growth))
                {
                    AdmissionRefusedException.Throw();
                }

                _reserved = size;
            }
        }

        byte[] next = Rent((int)size);
        _buffer.AsSpan(0, _written).CopyTo(next);
        Return(_buffer);
        _buffer = next;
    }

    private static byte[] Rent(int size) =>
        size <= PooledMaximum ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);

    private static void Return(byte[] buffer)
    {
        // A larger array was allocated, not rented: it is left to the GC (see the remarks).
        if (buffer.Length is > 0 and <= PooledMaximum)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// Thrown only by <see cref="PooledBufferWriter"/> when the collector's <see cref="AdmissionBudget"/> cannot hold
/// a request buffer's growth (a body being inflated or transcoded while others hold the budget). Retryable.
/// </summary>
internal sealed class AdmissionRefusedException : Exception
{
    public AdmissionRefusedException()
        : base("the collector's in-flight byte budget is exhausted")
    {
    }

    [System.Diagnostics.StackTraceHidden]
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Throw() => throw new AdmissionRefusedException();
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
