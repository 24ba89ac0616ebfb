namespace TraceSeal.Storage.Format;

// Hash tables keyed by ids that clients choose (trace ids, span ids) must not let a client choose the buckets.
// The default hashes fold their input before anything random is mixed in: UInt128.GetHashCode and
// ulong.GetHashCode XOR the halves, so every id of the form X‖X‖Y‖Y (or X‖X for a span id) lands in one bucket
// and a table of n such ids costs n² comparisons. These comparers feed every 32-bit word of the id into
// System.HashCode, which is seeded at random per process: which ids collide cannot be known from outside.
// (HashCode.Combine over two ulongs is not enough: it calls ulong.GetHashCode on each, which folds first.)
// Writers that only need distinct ids can instead sort and deduplicate (the collector's index builder does).
// Used by the collector's index and by every reader table keyed by an id (query engine, serve's Tempo and Jaeger
// APIs). Ids as hex strings need nothing more than StringComparer.Ordinal: .NET's string hash (Marvin) is seeded per
// process. Never key a table by a protobuf ByteString (a fixed polynomial hash) or message (its hash walks all its
// content); group messages by reference (ReferenceEqualityComparer).

/// <summary>Equality and a seeded full-width hash for 128-bit trace ids.</summary>
internal sealed class TraceIdComparer : IEqualityComparer<UInt128>
{
    public static readonly TraceIdComparer Instance = new();

    public bool Equals(UInt128 x, UInt128 y) => x == y;

    public int GetHashCode(UInt128 id)
    {
        ulong upper = (ulong)(id >> 64);
        ulong lower = (ulong)id;
        return HashCode.Combine((uint)(upper >> 32), (uint)upper, (uint)(lower >> 32), (uint)lower);
    }
}

/// <summary>Equality and a seeded full-width hash for 64-bit span ids.</summary>
internal sealed class SpanIdComparer : IEqualityComparer<ulong>
{
    public static readonly SpanIdComparer Instance = new();

    public bool Equals(ulong x, ulong y) => x == y;

    public int GetHashCode(ulong id) => HashCode.Combine((uint)(id >> 32), (uint)id);
}

/// <summary>Equality and a seeded full-width hash for a span's key: (trace id, span id).</summary>
internal sealed class SpanKeyComparer : IEqualityComparer<(UInt128 Trace, ulong Span)>
{
    public static readonly SpanKeyComparer Instance = new();

    public bool Equals((UInt128 Trace, ulong Span) x, (UInt128 Trace, ulong Span) y) => x.Trace == y.Trace && x.Span == y.Span;

    public int GetHashCode((UInt128 Trace, ulong Span) key)
    {
        ulong upper = (ulong)(key.Trace >> 64);
        ulong lower = (ulong)key.Trace;
        return HashCode.Combine(
            (uint)(upper >> 32), (uint)upper, (uint)(lower >> 32), (uint)lower, (uint)(key.Span >> 32), (uint)key.Span);
    }
}
