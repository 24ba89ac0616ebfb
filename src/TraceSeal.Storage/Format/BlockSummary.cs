// The block summary of docs/format.md §15.1: what a query needs to skip a block without its index. A sealed object
// (version 1, kind index) of its own, `ID.summary` next to `ID.block`, and the entry of a bucket manifest (§15.2).
// Do not reorder or add fields; bump SummaryVersion instead.
//
// SUMMARY PLAINTEXT (integers big-endian)
//   0   4   magic               "TSSM"
//   4   1   summary_version     0x01
//   5   16  block_object_id     the block's object id (its name is the first 8 bytes, §14.4)
//   21  8   block_sealed_length bytes of the .block file as written
//   29  8   block_frames        data frames of the block (its index's block_plain_length)
//   37  8   min_start_unix_nano over all spans (0 when none)
//   45  8   max_end_unix_nano
//   53  8   min_duration_nano
//   61  8   max_duration_nano
//   69  1   flags               bit0 services_overflow, bit1 names_overflow (the index's flags)
//   70  8   span_count          spans in the block (0: no trace record with spans)
//   78  4   trace_count         distinct trace ids (the filter's n)
//   82  4   n, then n × [u16 len][UTF-8]   services (sorted; the index's)
//       4   n, then n × [u16 len][UTF-8]   span names (sorted; the index's)
//       4   I, then I × [16 object id]     inputs: the blocks a compaction merged into this one (0 for a collector's block)
//       16  filter_seed         random
//       1   filter_hashes       k, 1..16
//       4   filter_bytes        m, 8..2^28, then m bytes: the trace-id filter (a Bloom filter, §15.1)
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TraceSeal.Storage.Format;

/// <summary>
/// A block's summary: time range, durations, services, span names, span count, a trace-id Bloom filter and (for a
/// compacted block) the blocks it replaced. Built from the block's index (<see cref="FromIndex"/>): the collector
/// writes it at the cut, compaction for its outputs and in every manifest entry. A query reads summaries, not
/// indexes, to decide which blocks to open.
/// </summary>
internal sealed class BlockSummary
{
    public const byte Version = 0x01;
    public const int BitsPerTrace = 10;
    public const byte Hashes = 7;
    public const int MinFilterBytes = 8;
    public const int MaxFilterBytes = 1 << 28;
    public const int SeedSize = 16;
    private const int FixedSize = 82;

    public static ReadOnlySpan<byte> Magic => "TSSM"u8;

    /// <summary>The block described and its bounds, as its index has them (block_plain_length = data frames).</summary>
    public required BlockHead Head { get; init; }

    public byte[] BlockObjectId => Head.ObjectId;
    public long BlockSealedLength => Head.SealedLength;
    public long BlockFrames => Head.PlainLength;
    public ulong MinStart => Head.MinStart;
    public ulong MaxEnd => Head.MaxEnd;
    public ulong MinDuration => Head.MinDuration;
    public ulong MaxDuration => Head.MaxDuration;
    public byte Flags => Head.Flags;
    public ulong SpanCount { get; init; }
    public uint TraceCount { get; init; }
    public required IReadOnlyList<string> Services { get; init; }
    public required IReadOnlyList<string> Names { get; init; }

    /// <summary>Object ids of the blocks this one replaced (compaction); empty for a block a collector cut.</summary>
    public required IReadOnlyList<byte[]> Inputs { get; init; }

    public required byte[] FilterSeed { get; init; }
    public byte FilterHashes { get; init; } = Hashes;
    public required byte[] Filter { get; init; }

    /// <summary>The file stem of the block (first 8 bytes of its object id, 16 hex digits).</summary>
    public string Stem => Convert.ToHexStringLower(BlockObjectId.AsSpan(0, StoreFormat.BlockNameBytes));

    /// <summary>True for a block a compaction wrote (it names the blocks it replaced).</summary>
    public bool IsCompacted => Inputs.Count > 0;

    /// <summary>The summary of the block <paramref name="index"/> describes; the filter holds every trace id of the index.</summary>
    public static BlockSummary FromIndex(BlockIndex index, IReadOnlyList<byte[]> inputs) =>
        FromIndex(index, inputs, RandomNumberGenerator.GetBytes(SeedSize));

    /// <summary>As <see cref="FromIndex(BlockIndex, IReadOnlyList{byte[]})"/> with a given filter seed (test vectors).</summary>
    internal static BlockSummary FromIndex(BlockIndex index, IReadOnlyList<byte[]> inputs, byte[] seed)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(inputs);
        ulong spans = 0;
        foreach (var r in index.Records)
        {
            spans += r.Signal == 0 ? (ulong)r.SpanCount : 0;
        }

        // Traces are sorted by id: distinct ids are the changes along the list.
        uint distinct = 0;
        for (int i = 0; i < index.Traces.Count; i++)
        {
            distinct += i == 0 || index.Traces[i].TraceId != index.Traces[i - 1].TraceId ? 1u : 0u;
        }

        var filter = new byte[FilterSize(distinct)];
        var (s0, s1) = SeedWords(seed);
        foreach (var t in index.Traces)
        {
            SetBits(filter, Hashes, s0, s1, t.TraceId);
        }

        return new BlockSummary
        {
            Head = new BlockHead(index.BlockObjectId, index.BlockSealedLength, index.BlockPlainLength, index.MinStart, index.MaxEnd,
                index.MinDuration, index.MaxDuration, (byte)(index.Flags & (BlockIndex.ServicesOverflow | BlockIndex.NamesOverflow))),
            SpanCount = spans,
            TraceCount = distinct,
            Services = index.Services,
            Names = index.Names,
            Inputs = inputs,
            FilterSeed = seed,
            Filter = filter,
        };
    }

    /// <summary>m = ⌈n · 10 / 8⌉ bytes, at least 8: about 1% false positives with k = 7.</summary>
    public static int FilterSize(uint traces) =>
        (int)Math.Clamp(((long)traces * BitsPerTrace + 7) / 8, MinFilterBytes, MaxFilterBytes);

    /// <summary>False only when no span of the block can have this trace id (a Bloom filter: true may be a false positive).</summary>
    public bool MayContain(UInt128 traceId)
    {
        var (s0, s1) = SeedWords(FilterSeed);
        ulong bits = (ulong)Filter.Length * 8;
        var (h1, h2) = Hash(s0, s1, traceId);
        for (uint i = 0; i < FilterHashes; i++)
        {
            ulong bit = (h1 + (i * h2)) % bits;
            if ((Filter[(int)(bit >> 3)] & (1 << (int)(bit & 7))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    public int EncodedSize => FixedSize + LayoutWriter.StringsSize(Services) + LayoutWriter.StringsSize(Names) + 4 + (Inputs.Count * 16)
                              + SeedSize + 1 + 4 + Filter.Length;

    public byte[] Encode()
    {
        var buffer = new byte[EncodedSize];
        EncodeTo(buffer);
        return buffer;
    }

    public void EncodeTo(Span<byte> buffer)
    {
        var w = new LayoutWriter(buffer);
        w.Bytes(Magic);
        w.U8(Version);
        w.Head(Head);
        w.U64(SpanCount);
        w.U32(TraceCount);
        w.Strings(Services);
        w.Strings(Names);
        w.U32((uint)Inputs.Count);
        foreach (var input in Inputs)
        {
            w.Bytes(input);
        }

        w.Bytes(FilterSeed);
        w.U8(FilterHashes);
        w.U32((uint)Filter.Length);
        w.Bytes(Filter);
        if (w.Position != buffer.Length)
        {
            throw new InvalidOperationException("summary size miscalculated");
        }
    }

    /// <summary>False when the plaintext does not follow the layout (summary_malformed).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, out BlockSummary? summary)
    {
        summary = null;
        var r = new LayoutReader(data);
        if (!r.Bytes(4, out var magic) || !magic.SequenceEqual(Magic) || !r.U8(out var version) || version != Version
            || !r.Head(out var head) || !r.U64(out var spans) || !r.U32(out var traces)
            || !r.Strings(out var services) || !r.Strings(out var names) || !r.Count(16, out var inputCount))
        {
            return false;
        }

        var inputs = new byte[inputCount][];
        for (int i = 0; i < inputCount; i++)
        {
            r.Bytes(16, out var input);
            inputs[i] = input.ToArray();
        }

        if (!r.Bytes(SeedSize, out var seed) || !r.U8(out var hashes) || hashes is 0 or > 16
            || !r.U32(out var filterLength) || filterLength is < MinFilterBytes or > MaxFilterBytes
            || !r.Bytes((int)filterLength, out var filter) || !r.AtEnd || head.PlainLength > uint.MaxValue)
        {
            return false;
        }

        summary = new BlockSummary
        {
            Head = head,
            SpanCount = spans,
            TraceCount = traces,
            Services = services!,
            Names = names!,
            Inputs = inputs,
            FilterSeed = seed.ToArray(),
            FilterHashes = hashes,
            Filter = filter.ToArray(),
        };
        return true;
    }

    private static (ulong S0, ulong S1) SeedWords(ReadOnlySpan<byte> seed) =>
        (BinaryPrimitives.ReadUInt64BigEndian(seed), BinaryPrimitives.ReadUInt64BigEndian(seed[8..]));

    private static void SetBits(byte[] filter, byte hashes, ulong s0, ulong s1, UInt128 traceId)
    {
        ulong bits = (ulong)filter.Length * 8;
        var (h1, h2) = Hash(s0, s1, traceId);
        for (uint i = 0; i < hashes; i++)
        {
            ulong bit = (h1 + (i * h2)) % bits;
            filter[(int)(bit >> 3)] |= (byte)(1 << (int)(bit & 7));
        }
    }

    /// <summary>
    /// §15.1: h1 = mix(hi ⊕ s0) ⊕ mix(lo ⊕ s1), h2 = mix(h1 ⊕ s1) | 1, where mix is SplitMix64's finaliser. The seed is
    /// random per summary and sealed, so a client choosing trace ids cannot choose which bits they set.
    /// </summary>
    internal static (ulong H1, ulong H2) Hash(ulong s0, ulong s1, UInt128 traceId)
    {
        ulong h1 = Mix((ulong)(traceId >> 64) ^ s0) ^ Mix((ulong)traceId ^ s1);
        return (h1, Mix(h1 ^ s1) | 1);
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9UL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebUL;
        return x ^ (x >> 31);
    }
}
