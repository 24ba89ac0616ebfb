// The big-endian field codec every store layout in this folder is written and read with (BlockIndex, BlockSummary,
// BucketManifest): bounds-checked reads that return false instead of throwing, counts checked against the bytes left.
using System.Buffers.Binary;
using System.Text;

namespace TraceSeal.Storage.Format;

/// <summary>
/// The fields an index (§12.5) and a summary (§15.1) both start with, right after magic and version: the block they
/// describe and its bounds. 65 bytes; do not reorder.
/// </summary>
internal readonly record struct BlockHead(byte[] ObjectId, long SealedLength, long PlainLength, ulong MinStart, ulong MaxEnd,
    ulong MinDuration, ulong MaxDuration, byte Flags)
{
    public const int Size = 16 + (8 * 6) + 1;
}

/// <summary>Writes fields into a buffer sized beforehand (the layout's encoder computes the size).</summary>
internal ref struct LayoutWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    public int Position;

    public void U8(byte v) => _buffer[Position++] = v;

    public void U16(ushort v)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], v);
        Position += 2;
    }

    public void U32(uint v)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Position..], v);
        Position += 4;
    }

    public void U64(ulong v)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer[Position..], v);
        Position += 8;
    }

    public void Bytes(ReadOnlySpan<byte> v)
    {
        v.CopyTo(_buffer[Position..]);
        Position += v.Length;
    }

    public void Head(in BlockHead head)
    {
        Bytes(head.ObjectId);
        U64((ulong)head.SealedLength);
        U64((ulong)head.PlainLength);
        U64(head.MinStart);
        U64(head.MaxEnd);
        U64(head.MinDuration);
        U64(head.MaxDuration);
        U8(head.Flags);
    }

    /// <summary>Bytes <see cref="Strings"/> writes for <paramref name="values"/>: the count, then a u16 length and UTF-8 each.</summary>
    public static int StringsSize(IReadOnlyList<string> values)
    {
        int size = 4;
        foreach (var s in values)
        {
            size += 2 + Encoding.UTF8.GetByteCount(s);
        }

        return size;
    }

    public void Strings(IReadOnlyList<string> values)
    {
        U32((uint)values.Count);
        foreach (var s in values)
        {
            int n = Encoding.UTF8.GetBytes(s, _buffer[(Position + 2)..]);
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], (ushort)n);
            Position += 2 + n;
        }
    }
}

/// <summary>Reads fields; every method returns false (and moves nothing) when the bytes left are too few.</summary>
internal ref struct LayoutReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public readonly bool AtEnd => _pos == _data.Length;

    public bool U8(out byte v)
    {
        v = 0;
        if (_data.Length - _pos < 1)
        {
            return false;
        }

        v = _data[_pos++];
        return true;
    }

    public bool U32(out uint v)
    {
        v = 0;
        if (_data.Length - _pos < 4)
        {
            return false;
        }

        v = BinaryPrimitives.ReadUInt32BigEndian(_data[_pos..]);
        _pos += 4;
        return true;
    }

    public bool U64(out ulong v)
    {
        v = 0;
        if (_data.Length - _pos < 8)
        {
            return false;
        }

        v = BinaryPrimitives.ReadUInt64BigEndian(_data[_pos..]);
        _pos += 8;
        return true;
    }

    public bool Bytes(int n, out ReadOnlySpan<byte> v)
    {
        v = default;
        if (_data.Length - _pos < n)
        {
            return false;
        }

        v = _data.Slice(_pos, n);
        _pos += n;
        return true;
    }

    /// <summary>A <see cref="BlockHead"/>; false when the bytes run out or a length does not fit a long.</summary>
    public bool Head(out BlockHead head)
    {
        head = default;
        if (!Bytes(16, out var id) || !U64(out var sealedLength) || !U64(out var plainLength) || !U64(out var minStart)
            || !U64(out var maxEnd) || !U64(out var minDuration) || !U64(out var maxDuration) || !U8(out var flags)
            || sealedLength > long.MaxValue || plainLength > long.MaxValue)
        {
            return false;
        }

        head = new BlockHead(id.ToArray(), (long)sealedLength, (long)plainLength, minStart, maxEnd, minDuration, maxDuration, flags);
        return true;
    }

    /// <summary>A count followed by that many fixed-size entries, checked against the bytes left before any allocation.</summary>
    public bool Count(int entrySize, out int count)
    {
        count = 0;
        if (!U32(out var n) || n > (uint)((_data.Length - _pos) / entrySize))
        {
            return false;
        }

        count = (int)n;
        return true;
    }

    public bool Strings(out string[]? values)
    {
        values = null;
        if (!Count(2, out var count))
        {
            return false;
        }

        var result = new string[count];
        for (int i = 0; i < count; i++)
        {
            if (!U16(out var len) || !Bytes(len, out var bytes))
            {
                return false;
            }

            result[i] = Encoding.UTF8.GetString(bytes);
        }

        values = result;
        return true;
    }

    public bool U16(out ushort v)
    {
        v = 0;
        if (_data.Length - _pos < 2)
        {
            return false;
        }

        v = BinaryPrimitives.ReadUInt16BigEndian(_data[_pos..]);
        _pos += 2;
        return true;
    }
}
