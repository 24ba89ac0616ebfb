using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace TraceSeal.Collector.Receivers;

/// <summary>Pieces of the gRPC HTTP/2 wire format (grpc/doc/PROTOCOL-HTTP2.md) the receiver writes by hand.</summary>
internal static class GrpcWire
{
    // Length-Prefixed-Message:
    //   [0]    Compressed-Flag  0 = not compressed, 1 = compressed with the grpc-encoding of the call
    //   [1..4] Message-Length   unsigned 32-bit big-endian
    //   [5..]  Message
    public const int PrefixLength = 5;

    public const string TraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    public const string MetricsExport = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    public const string LogsExport = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

    public const string AcceptEncoding = "identity,gzip";

    private static readonly string[] StatusStrings = CreateStatusStrings();

    public static bool TryReadPrefix(in ReadOnlySequence<byte> buffer, out byte compressedFlag, out uint length)
    {
        Span<byte> prefix = stackalloc byte[PrefixLength];
        if (buffer.Length < PrefixLength)
        {
            compressedFlag = 0;
            length = 0;
            return false;
        }

        buffer.Slice(0, PrefixLength).CopyTo(prefix);
        compressedFlag = prefix[0];
        length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        return true;
    }

    public static void WritePrefix(Span<byte> destination, int length)
    {
        destination[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    /// <summary>grpc-status values are 0..16: cached strings, no formatting per response.</summary>
    public static string StatusString(int code) => (uint)code < (uint)StatusStrings.Length ? StatusStrings[code] : code.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The longest deadline honoured. A client may ask for up to 99,999,999 hours; nothing the receiver does takes
    /// longer than its sink's own bounds, so a longer deadline is the same as this one (and never overflows a timer).
    /// </summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// grpc-timeout (PROTOCOL-HTTP2.md): TimeoutValue (1-8 ASCII digits) followed by TimeoutUnit H, M, S, m (milli),
    /// u (micro), n (nano); the result is capped at <see cref="MaxTimeout"/>. False for anything else: the caller
    /// refuses the call (INVALID_ARGUMENT) rather than guess.
    /// </summary>
    public static bool TryParseTimeout(ReadOnlySpan<char> text, out TimeSpan timeout)
    {
        timeout = default;
        if (text.Length < 2 || text.Length > 9)
        {
            return false;
        }

        long value = 0;
        for (int i = 0; i < text.Length - 1; i++)
        {
            char c = text[i];
            if ((uint)(c - '0') > 9)
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        // At most 99,999,999 hours: 3.6e20 ticks would overflow a long, so cap in the unit before multiplying.
        long ticksPerUnit = text[^1] switch
        {
            'H' => TimeSpan.TicksPerHour,
            'M' => TimeSpan.TicksPerMinute,
            'S' => TimeSpan.TicksPerSecond,
            'm' => TimeSpan.TicksPerMillisecond,
            'u' => 10,
            'n' => 0,
            _ => -1,
        };
        if (ticksPerUnit < 0)
        {
            return false;
        }

        long ticks = ticksPerUnit == 0 ? value / 100 : Math.Min(value, (MaxTimeout.Ticks / ticksPerUnit) + 1) * ticksPerUnit;
        timeout = TimeSpan.FromTicks(Math.Min(ticks, MaxTimeout.Ticks));
        return true;
    }

    /// <summary>grpc-message: UTF-8, then every byte outside 0x20..0x7E and '%' as %XX (PROTOCOL-HTTP2.md "Status-Message").</summary>
    public static string PercentEncode(string message)
    {
        bool plain = true;
        foreach (char c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%')
            {
                plain = false;
                break;
            }
        }

        if (plain)
        {
            return message;
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(utf8.Length * 3);
        foreach (byte b in utf8)
        {
            if (b < 0x20 || b > 0x7E || b == (byte)'%')
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append((char)b);
            }
        }

        return builder.ToString();
    }

    /// <summary>grpc-status-details-bin: base64 without padding (binary header rule).</summary>
    public static string EncodeBinaryHeader(byte[] value) => Convert.ToBase64String(value).TrimEnd('=');

    private static string[] CreateStatusStrings()
    {
        var strings = new string[17];
        for (int i = 0; i < strings.Length; i++)
        {
            strings[i] = i.ToString(CultureInfo.InvariantCulture);
        }

        return strings;
    }
}
