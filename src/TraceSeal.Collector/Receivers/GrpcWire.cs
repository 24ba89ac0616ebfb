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
    /// grpc-timeout: TimeoutValue (1-8 ASCII digits) followed by TimeoutUnit H, M, S, m (milli), u (micro), n (nano).
    /// False for anything else; the caller then ignores the header rather than guessing.
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

        long ticks = text[^1] switch
        {
            'H' => value * TimeSpan.TicksPerHour,
            'M' => value * TimeSpan.TicksPerMinute,
            'S' => value * TimeSpan.TicksPerSecond,
            'm' => value * TimeSpan.TicksPerMillisecond,
            'u' => value * 10,
            'n' => value / 100,
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
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
