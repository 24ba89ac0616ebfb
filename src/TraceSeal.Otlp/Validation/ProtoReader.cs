using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.Unicode;

namespace TraceSeal.Otlp.Validation;

/// <summary>
/// Forward-only reader over one protobuf message. Never throws and never allocates: every read returns
/// false after recording a <see cref="WireFailure"/>. Nested messages get their own reader over the slice,
/// with <c>baseOffset</c> so failures report offsets relative to the whole request.
/// </summary>
/// <remarks>
/// Record layout (protobuf encoding): tag = varint(field_number &lt;&lt; 3 | wire_type), then
///   VARINT: 1..10 bytes, 7 bits each, high bit = more
///   I64:    8 bytes little endian          I32: 4 bytes little endian
///   LEN:    varint length, then that many bytes
/// </remarks>
internal ref struct ProtoReader
{
    // A 64-bit varint needs at most 10 bytes; the 10th may only carry bit 63.
    private const int MaxVarintBytes = 10;

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _baseOffset;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> buffer, int baseOffset)
    {
        _buffer = buffer;
        _baseOffset = baseOffset;
        _position = 0;
    }

    public readonly bool HasMore => _position < _buffer.Length;

    /// <summary>Offset of the next byte within the whole request.</summary>
    public readonly int Offset => _baseOffset + _position;

    /// <summary>Reads a field tag. <paramref name="message"/> names the message being read, for failures.</summary>
    public bool TryReadTag(string message, scoped ref WireFailure failure, out int field, out int wireType)
    {
        field = 0;
        wireType = 0;
        int start = Offset;
        if (!TryReadRawVarint(message, ref failure, out ulong tag))
        {
            return false;
        }

        // Field numbers are 1 .. 2^29-1, so a valid tag fits in 32 bits.
        if (tag > uint.MaxValue || (tag >> 3) == 0)
        {
            return failure.Fail("invalid_tag", message, "field number out of range", start);
        }

        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (wireType is WireType.StartGroup or WireType.EndGroup)
        {
            // Groups are deprecated and absent from OTLP; refusing them keeps the skipper simple and bounded.
            return failure.Fail("group_not_supported", message, "deprecated group wire type", start);
        }

        if (wireType > WireType.Fixed32)
        {
            return failure.Fail("invalid_wire_type", message, "wire type 6 or 7 does not exist", start);
        }

        return true;
    }

    public bool TryReadVarint(int wireType, string path, scoped ref WireFailure failure, out ulong value)
    {
        if (wireType != WireType.Varint)
        {
            value = 0;
            return WrongType(WireType.Varint, path, ref failure);
        }

        return TryReadRawVarint(path, ref failure, out value);
    }

    public bool TryReadFixed64(int wireType, string path, scoped ref WireFailure failure, out ulong value)
    {
        value = 0;
        if (wireType != WireType.Fixed64)
        {
            return WrongType(WireType.Fixed64, path, ref failure);
        }

        if (_buffer.Length - _position < sizeof(ulong))
        {
            return failure.Fail("truncated_fixed64", path, "fewer than 8 bytes left", Offset);
        }

        value = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.Slice(_position));
        _position += sizeof(ulong);
        return true;
    }

    public bool TryReadFixed32(int wireType, string path, scoped ref WireFailure failure, out uint value)
    {
        value = 0;
        if (wireType != WireType.Fixed32)
        {
            return WrongType(WireType.Fixed32, path, ref failure);
        }

        if (_buffer.Length - _position < sizeof(uint))
        {
            return failure.Fail("truncated_fixed32", path, "fewer than 4 bytes left", Offset);
        }

        value = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.Slice(_position));
        _position += sizeof(uint);
        return true;
    }

    /// <summary>Reads a LEN field: bytes, or an embedded message to read with a nested reader at <paramref name="valueOffset"/>.</summary>
    public bool TryReadLength(int wireType, string path, scoped ref WireFailure failure, out ReadOnlySpan<byte> value, out int valueOffset)
    {
        value = default;
        valueOffset = 0;
        if (wireType != WireType.Len)
        {
            return WrongType(WireType.Len, path, ref failure);
        }

        int start = Offset;
        if (!TryReadRawVarint(path, ref failure, out ulong length))
        {
            return false;
        }

        // Compare as ulong: a length near 2^64 or int.MaxValue must not wrap into range.
        if (length > (ulong)(_buffer.Length - _position))
        {
            return failure.Fail("length_overflow", path, "length exceeds the bytes left in the enclosing message", start);
        }

        valueOffset = Offset;
        value = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }

    /// <summary>A protobuf <c>string</c>: LEN that must be valid UTF-8.</summary>
    public bool TryReadString(int wireType, string path, scoped ref WireFailure failure, out ReadOnlySpan<byte> value)
    {
        if (!TryReadLength(wireType, path, ref failure, out value, out int valueOffset))
        {
            return false;
        }

        if (!Utf8.IsValid(value))
        {
            return failure.Fail("invalid_utf8", path, "string is not valid UTF-8", valueOffset);
        }

        return true;
    }

    /// <summary>repeated fixed64/double: accepts packed (LEN, multiple of 8) and unpacked (I64), as parsers must.</summary>
    public bool TryReadRepeatedFixed64(int wireType, string path, scoped ref WireFailure failure)
    {
        if (wireType == WireType.Fixed64)
        {
            return TryReadFixed64(wireType, path, ref failure, out _);
        }

        if (wireType != WireType.Len)
        {
            return WrongType(WireType.Len, path, ref failure);
        }

        if (!TryReadLength(wireType, path, ref failure, out ReadOnlySpan<byte> packed, out int offset))
        {
            return false;
        }

        return (packed.Length & 7) == 0 || failure.Fail("bad_packed_length", path, "packed fixed64 length is not a multiple of 8", offset);
    }

    /// <summary>repeated uint64: accepts packed (LEN of varints) and unpacked (VARINT).</summary>
    public bool TryReadRepeatedVarint(int wireType, string path, scoped ref WireFailure failure)
    {
        if (wireType == WireType.Varint)
        {
            return TryReadRawVarint(path, ref failure, out _);
        }

        if (wireType != WireType.Len)
        {
            return WrongType(WireType.Len, path, ref failure);
        }

        if (!TryReadLength(wireType, path, ref failure, out ReadOnlySpan<byte> packed, out int offset))
        {
            return false;
        }

        var inner = new ProtoReader(packed, offset);
        while (inner.HasMore)
        {
            if (!inner.TryReadRawVarint(path, ref failure, out _))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Skips an unknown field's value (its tag already read).</summary>
    public bool TrySkip(int wireType, string message, scoped ref WireFailure failure)
    {
        switch (wireType)
        {
            case WireType.Varint:
                return TryReadRawVarint(message, ref failure, out _);
            case WireType.Fixed64:
                return TryReadFixed64(wireType, message, ref failure, out _);
            case WireType.Len:
                return TryReadLength(wireType, message, ref failure, out _, out _);
            case WireType.Fixed32:
                return TryReadFixed32(wireType, message, ref failure, out _);
            default:
                return failure.Fail("invalid_wire_type", message, "cannot skip this wire type", Offset);
        }
    }

    private bool TryReadRawVarint(string path, scoped ref WireFailure failure, out ulong value)
    {
        int position = _position;
        ReadOnlySpan<byte> buffer = _buffer;

        // Fast path: most tags and small lengths are one byte.
        if ((uint)position < (uint)buffer.Length && buffer[position] < 0x80)
        {
            value = buffer[position];
            _position = position + 1;
            return true;
        }

        ulong result = 0;
        for (int i = 0; i < MaxVarintBytes; i++)
        {
            int p = position + i;
            if ((uint)p >= (uint)buffer.Length)
            {
                value = 0;
                return failure.Fail("truncated_varint", path, "varint runs past the end of its message", _baseOffset + position);
            }

            byte b = buffer[p];
            if (i == MaxVarintBytes - 1 && b > 1)
            {
                value = 0;
                return failure.Fail("overlong_varint", path, "varint does not fit in 64 bits", _baseOffset + position);
            }

            result |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                value = result;
                _position = p + 1;
                return true;
            }
        }

        value = 0;
        return failure.Fail("overlong_varint", path, "varint longer than 10 bytes", _baseOffset + position);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly bool WrongType(int expected, string path, scoped ref WireFailure failure)
        => failure.Fail("wrong_wire_type", path, WireType.Expected(expected), Offset);
}
