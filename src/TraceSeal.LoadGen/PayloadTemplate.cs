using System.Buffers.Binary;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;

namespace TraceSeal.LoadGen;

/// <summary>
/// One request body built once per run, plus the offsets of its trace id and of every span's start and end time.
/// Workers copy it into their own buffer and patch the trace id and the times there before each send, so the hot
/// path builds no protobuf objects and every request still carries a distinct trace sent at its own time (servers
/// that index or deduplicate by trace id, or skip blocks by time range, see real data).
/// </summary>
internal sealed class PayloadTemplate
{
    /// <summary>gRPC length prefix (gRPC over HTTP/2, "Length-Prefixed-Message"): compressed flag (1) + big-endian length (4).</summary>
    public const int GrpcPrefixLength = 5;

    public const int TraceIdLength = 16;

    // Placeholder trace id: random-looking so it cannot occur by chance elsewhere in the encoding;
    // Build checks that it was found exactly once per span.
    private static readonly byte[] Marker = Convert.FromHexString("5ea1ed0c0ffee5eed7ace1d05eed5a17");

    private static readonly ByteString RootSpanId = ByteString.CopyFrom(0x5E, 0xA1, 0, 0, 0, 0, 0, 1);

    // Span i starts SpanStepNanos * i after the request's start and lasts SpanDurationNanos.
    private const ulong SpanStepNanos = 1000;
    private const ulong SpanDurationNanos = 500_000;

    // OTLP/JSON writes a uint64 as a decimal string; every Unix time in nanoseconds from 2001 to 2286 has 19 digits,
    // so a time is patched in place without moving anything after it.
    private const int JsonTimeDigits = 19;

    private readonly int[] _offsets;
    private readonly int[] _startOffsets;
    private readonly int[] _endOffsets;
    private readonly bool _hex;

    private PayloadTemplate(byte[] bytes, int[] offsets, (int[] Start, int[] End) times, bool hex, int spans)
    {
        Bytes = bytes;
        _offsets = offsets;
        _startOffsets = times.Start;
        _endOffsets = times.End;
        _hex = hex;
        Spans = spans;
    }

    /// <summary>The complete request body (with the gRPC prefix for gRPC), trace id still the placeholder.</summary>
    public byte[] Bytes { get; }

    public int Spans { get; }

    public static PayloadTemplate Build(LoadProtocol protocol, int spans, int attributes, int attributeBytes)
    {
        var start = (ulong)(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000);
        var protobuf = BuildRequest(spans, attributes, attributeBytes, start).ToByteArray();
        switch (protocol)
        {
            case LoadProtocol.Grpc:
                var framed = new byte[GrpcPrefixLength + protobuf.Length];
                BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)protobuf.Length);
                protobuf.CopyTo(framed, GrpcPrefixLength);
                return new PayloadTemplate(framed, FindAll(framed, Marker, spans), FindTimes(framed, start, spans, json: false), hex: false, spans);
            case LoadProtocol.HttpJson:
                // OTLP/JSON writes ids as lowercase hex strings.
                var json = System.Text.Encoding.UTF8.GetBytes(OtlpJson.ToJson(protobuf, OtlpSignal.Traces));
                var hexMarker = System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(Marker));
                return new PayloadTemplate(json, FindAll(json, hexMarker, spans), FindTimes(json, start, spans, json: true), hex: true, spans);
            default:
                return new PayloadTemplate(protobuf, FindAll(protobuf, Marker, spans), FindTimes(protobuf, start, spans, json: false), hex: false, spans);
        }
    }

    /// <summary>
    /// Writes span i's start = <paramref name="startUnixNano"/> + i µs and its end 0.5 ms later into <paramref name="body"/>,
    /// a copy of <see cref="Bytes"/>: each request carries the time it is sent, as an instrumented app's would.
    /// </summary>
    public void PatchTimes(Span<byte> body, ulong startUnixNano)
    {
        for (int i = 0; i < _startOffsets.Length; i++)
        {
            ulong start = startUnixNano + ((ulong)i * SpanStepNanos);
            WriteTime(body, _startOffsets[i], start);
            WriteTime(body, _endOffsets[i], start + SpanDurationNanos);
        }
    }

    private void WriteTime(Span<byte> body, int offset, ulong value)
    {
        if (!_hex)
        {
            // fixed64: 8 bytes little-endian after the field's tag.
            BinaryPrimitives.WriteUInt64LittleEndian(body.Slice(offset, sizeof(ulong)), value);
            return;
        }

        var digits = body.Slice(offset, JsonTimeDigits);
        if (!value.TryFormat(digits, out int written, default, System.Globalization.CultureInfo.InvariantCulture) || written != JsonTimeDigits)
        {
            throw new InvalidOperationException($"payload template: a span time of {value} ns does not have {JsonTimeDigits} digits");
        }
    }

    /// <summary>Writes trace id = <paramref name="high"/> ‖ <paramref name="low"/> (big-endian) at every span of <paramref name="body"/>, a copy of <see cref="Bytes"/>.</summary>
    public void PatchTraceId(Span<byte> body, ulong high, ulong low)
    {
        Span<byte> id = stackalloc byte[TraceIdLength];
        BinaryPrimitives.WriteUInt64BigEndian(id, high);
        BinaryPrimitives.WriteUInt64BigEndian(id[8..], low);
        Span<byte> hex = stackalloc byte[TraceIdLength * 2];
        if (_hex)
        {
            WriteHexLower(id, hex);
        }

        ReadOnlySpan<byte> value = _hex ? hex : id;
        foreach (var offset in _offsets)
        {
            value.CopyTo(body.Slice(offset, value.Length));
        }
    }

    private static ExportTraceServiceRequest BuildRequest(int spans, int attributes, int attributeBytes, ulong start)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "traceseal.loadgen", Version = "1" } };
        var value = AttributeValue(attributeBytes);
        var spanId = new byte[8];
        for (int i = 0; i < spans; i++)
        {
            // Span ids only need to be unique within a trace; the trace id is what changes per request.
            BinaryPrimitives.WriteUInt64BigEndian(spanId, 0x5EA1_0000_0000_0000UL | (uint)(i + 1));
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(Marker),
                SpanId = ByteString.CopyFrom(spanId),
                Name = i == 0 ? "GET /checkout" : "db.query",
                Kind = i == 0 ? Span.Types.SpanKind.Server : Span.Types.SpanKind.Client,
                StartTimeUnixNano = start + ((ulong)i * SpanStepNanos),
                EndTimeUnixNano = start + ((ulong)i * SpanStepNanos) + SpanDurationNanos,
                Status = new Status { Code = Status.Types.StatusCode.Ok },
            };
            if (i > 0)
            {
                span.ParentSpanId = RootSpanId; // span 0, so each request is one trace tree
            }

            for (int a = 0; a < attributes; a++)
            {
                span.Attributes.Add(new KeyValue { Key = "attr." + a, Value = new AnyValue { StringValue = value } });
            }

            scope.Spans.Add(span);
        }

        var resource = new Resource();
        resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "traceseal-loadgen" } });
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(new ResourceSpans { Resource = resource, ScopeSpans = { scope } });
        return request;
    }

    private static string AttributeValue(int length)
    {
        // Varied letters rather than one repeated byte, so the size is honest if a hop compresses.
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = (char)('a' + (i * 7 % 26));
        }

        return new string(chars);
    }

    /// <summary>
    /// The offsets of every span's start and end time, found in order (span i's start, then its end, then span i + 1):
    /// protobuf = the 8 bytes after the fixed64 tag of field 7 / 8 (0x39 / 0x41) holding that exact value; OTLP/JSON =
    /// the digits of that value inside quotes. Searching in order keeps a later span's start from matching an earlier
    /// span's end of equal value.
    /// </summary>
    private static (int[] Start, int[] End) FindTimes(byte[] body, ulong start, int spans, bool json)
    {
        var starts = new int[spans];
        var ends = new int[spans];
        int from = 0;
        for (int i = 0; i < spans; i++)
        {
            ulong spanStart = start + ((ulong)i * SpanStepNanos);
            starts[i] = FindTime(body, ref from, spanStart, json ? (byte)0 : (byte)0x39);
            ends[i] = FindTime(body, ref from, spanStart + SpanDurationNanos, json ? (byte)0 : (byte)0x41);
        }

        return (starts, ends);
    }

    private static int FindTime(byte[] body, ref int from, ulong value, byte tag)
    {
        // The value starts one byte into the needle: after the opening quote (JSON) or the field's tag (protobuf).
        byte[] needle;
        if (tag == 0)
        {
            needle = System.Text.Encoding.ASCII.GetBytes("\"" + value.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"");
            if (needle.Length != JsonTimeDigits + 2)
            {
                throw new InvalidOperationException($"payload template: a span time of {value} ns does not have {JsonTimeDigits} digits");
            }
        }
        else
        {
            needle = new byte[1 + sizeof(ulong)];
            needle[0] = tag;
            BinaryPrimitives.WriteUInt64LittleEndian(needle.AsSpan(1), value);
        }

        int i = body.AsSpan(from).IndexOf(needle);
        if (i < 0)
        {
            throw new InvalidOperationException($"payload template: span time {value} not found after offset {from}");
        }

        from += i + needle.Length;
        return from - needle.Length + 1;
    }

    private static int[] FindAll(byte[] haystack, byte[] needle, int expected)
    {
        var offsets = new List<int>(expected);
        int from = 0;
        while (true)
        {
            int i = haystack.AsSpan(from).IndexOf(needle);
            if (i < 0)
            {
                break;
            }

            offsets.Add(from + i);
            from += i + needle.Length;
        }

        if (offsets.Count != expected)
        {
            throw new InvalidOperationException($"payload template: found the trace id {offsets.Count} times, expected {expected}");
        }

        return [.. offsets];
    }

    private static void WriteHexLower(ReadOnlySpan<byte> bytes, Span<byte> hex)
    {
        const string Digits = "0123456789abcdef";
        for (int i = 0; i < bytes.Length; i++)
        {
            hex[2 * i] = (byte)Digits[bytes[i] >> 4];
            hex[(2 * i) + 1] = (byte)Digits[bytes[i] & 0xF];
        }
    }
}
