// Bounded mutation fuzzer for the two parsers that see untrusted bytes first:
//   OtlpValidator.TryValidate (protobuf; traces, metrics, logs) and OtlpJson.TryToProtobuf (OTLP/JSON).
// Seeds are valid requests built with the generated classes; each input is 1-3 stacked mutations of a seed
// (bit flips, byte sets, truncation, splicing with another seed, chunk insert/delete/duplicate, length-field
// edits, overlong varints, and for JSON token edits: huge numbers, bad escapes, type swaps, deep nesting).
// Findings: any exception escaping either API; an input the validator accepts that Google.Protobuf's generated
// parser rejects; an accepted input whose item count differs from the parsed message's; JSON output that does
// not parse; an input slower than --cap-ms (and a watchdog ends the run on an input still running after 10x the
// cap: a hang). Findings are written to --out (one file per distinct kind) and printed; exit 1 when any.
using System.Buffers;
using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Otlp.Tests;

namespace TraceSeal.Fuzz;

internal static class Program
{
    private static long s_inputStart; // Stopwatch timestamp of the input being run, 0 when idle
    private static byte[] s_current = [];
    private static string s_currentTarget = "";
    private static string s_out = "";

    private static int Main(string[] args)
    {
        double seconds = 60;
        int seed = Environment.TickCount & 0x7fffffff;
        int capMs = 2000;
        s_out = Path.Combine(Path.GetTempPath(), "traceseal-fuzz-findings");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--cap-ms": capMs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--out": s_out = args[++i]; break;
                default:
                    Console.Error.WriteLine("usage: Fuzz [--seconds 60] [--seed N] [--cap-ms 2000] [--out DIR]");
                    return 2;
            }
        }

        Directory.CreateDirectory(s_out);
        var rng = new Random(seed);
        var proto = Seeds();
        var json = proto.Select(s => (s.Signal, Data: Encoding.UTF8.GetBytes(OtlpJson.ToJson(s.Data, s.Signal)))).ToList();
        foreach (var (signal, data) in proto)
        {
            if (!OtlpValidator.TryValidate(data, signal, out _, out var e))
            {
                Console.Error.WriteLine($"seed refused by the validator ({signal}): {e.Code} {e.Message}");
                return 2;
            }
        }

        foreach (var (signal, data) in json)
        {
            if (!OtlpJson.TryToProtobuf(data, signal, new ArrayBufferWriter<byte>(), out var e))
            {
                Console.Error.WriteLine($"JSON seed refused ({signal}): {e.Code} {e.Message}");
                return 2;
            }
        }

        Console.WriteLine($"fuzz: seed {seed}, {seconds} s, {proto.Count} protobuf seeds ({string.Join(", ", proto.Select(p => $"{p.Signal} {p.Data.Length} B"))}), {json.Count} JSON seeds, per-input cap {capMs} ms, findings in {s_out}");

        var watchdog = new Thread(() => Watchdog(capMs * 10)) { IsBackground = true };
        watchdog.Start();

        var findings = new Dictionary<string, (int Count, string Example)>();
        var stats = new Dictionary<string, long[]>(); // target -> [iterations, accepted, ticks]
        foreach (var t in new[] { "validator", "json" })
        {
            stats[t] = new long[3];
        }

        long slowestTicks = 0;
        string slowest = "";
        var total = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        var output = new ArrayBufferWriter<byte>();
        while (total.Elapsed < deadline)
        {
            // Equal time for both targets: run whichever has had less so far.
            bool doJson = stats["json"][2] < stats["validator"][2];
            string target = doJson ? "json" : "validator";
            var pool = doJson ? json : proto;
            var (signal, seedBytes) = pool[rng.Next(pool.Count)];
            var donors = pool.Where(p => p.Signal == signal).Select(p => p.Data).ToList();
            byte[] input = seedBytes;
            for (int m = rng.Next(1, 4); m > 0; m--)
            {
                input = doJson && rng.Next(2) == 0 ? Mutators.Json(input, rng) : Mutators.Bytes(input, donors[rng.Next(donors.Count)], rng, protobuf: !doJson);
            }

            s_current = input;
            s_currentTarget = $"{target} {signal}";
            long start = Stopwatch.GetTimestamp();
            Volatile.Write(ref s_inputStart, start);
            string? finding = null;
            bool accepted = false;
            try
            {
                if (doJson)
                {
                    output.ResetWrittenCount();
                    accepted = OtlpJson.TryToProtobuf(input, signal, output, out var error);
                    if (accepted)
                    {
                        try
                        {
                            Parser(signal).ParseFrom(output.WrittenSpan);
                            OtlpValidator.TryValidate(output.WrittenSpan, signal, out _, out _); // must not throw either
                        }
                        catch (InvalidProtocolBufferException e)
                        {
                            finding = $"json: accepted, but its protobuf output does not parse ({e.Message})";
                        }
                    }
                    else if (string.IsNullOrEmpty(error.Code))
                    {
                        finding = "json: refused without an error code";
                    }
                }
                else
                {
                    accepted = OtlpValidator.TryValidate(input, signal, out var summary, out var error);
                    if (accepted)
                    {
                        try
                        {
                            var message = Parser(signal).ParseFrom(input);
                            int items = Items(message);
                            if (items != summary.ItemCount)
                            {
                                finding = $"validator {signal}: accepted with ItemCount {summary.ItemCount}, the generated parser sees {items}";
                            }
                        }
                        catch (InvalidProtocolBufferException e)
                        {
                            finding = $"validator {signal}: accepted, the generated parser rejects it ({Short(e.Message)})";
                        }
                    }
                    else if (string.IsNullOrEmpty(error.Code))
                    {
                        finding = $"validator {signal}: refused without an error code";
                    }
                }
            }
            catch (Exception e)
            {
                // Keyed by exception type, message and the first TraceSeal frame (not the signal): one line per bug.
                string frame = e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("TraceSeal.", StringComparison.Ordinal))?.Trim() ?? "?";
                frame = frame.StartsWith("at ", StringComparison.Ordinal) ? frame[3..] : frame;
                int paren = frame.IndexOf('(', StringComparison.Ordinal);
                finding = $"{target}: {e.GetType().Name} escaped ({Short(e.Message)}) in {(paren > 0 ? frame[..paren] : frame)}";
            }

            long ticks = Stopwatch.GetTimestamp() - start;
            Volatile.Write(ref s_inputStart, 0);
            var st = stats[target];
            st[0]++;
            st[2] += ticks;
            if (accepted)
            {
                st[1]++;
            }

            if (ticks > slowestTicks)
            {
                slowestTicks = ticks;
                slowest = $"{target} {signal} {input.Length} B";
            }

            if (finding is null && ticks * 1000 / Stopwatch.Frequency > capMs)
            {
                finding = $"{target} {signal}: input took {ticks * 1000 / Stopwatch.Frequency} ms (cap {capMs} ms)";
            }

            if (finding is not null)
            {
                string key = finding.Length > 240 ? finding[..240] : finding;
                if (findings.TryGetValue(key, out var f))
                {
                    findings[key] = (f.Count + 1, f.Example);
                }
                else
                {
                    string file = Path.Combine(s_out, $"finding-{findings.Count + 1}-{target}-{signal.ToString().ToLowerInvariant()}.{(doJson ? "json" : "pb")}");
                    File.WriteAllBytes(file, input);
                    findings[key] = (1, file);
                }
            }
        }

        double secs = total.Elapsed.TotalSeconds;
        Console.WriteLine($"{"target",-10} {"inputs",10} {"inputs/s",10} {"accepted",9} {"time s",7}");
        foreach (var (t, st) in stats)
        {
            double busy = (double)st[2] / Stopwatch.Frequency;
            Console.WriteLine($"{t,-10} {st[0],10:N0} {st[0] / Math.Max(busy, 1e-9),10:N0} {st[1],9:N0} {busy,7:F1}");
        }

        Console.WriteLine($"slowest input: {(double)slowestTicks * 1000 / Stopwatch.Frequency:F1} ms ({slowest}); wall {secs:F1} s");
        Console.WriteLine($"findings: {findings.Count} distinct");
        foreach (var (k, f) in findings)
        {
            Console.WriteLine($"  {f.Count} x {k}  (first input: {f.Example})");
        }

        return findings.Count == 0 ? 0 : 1;
    }

    private static void Watchdog(int hangMs)
    {
        while (true)
        {
            Thread.Sleep(50);
            long start = Volatile.Read(ref s_inputStart);
            if (start != 0 && (Stopwatch.GetTimestamp() - start) * 1000 / Stopwatch.Frequency > hangMs)
            {
                string file = Path.Combine(s_out, "hang.bin");
                File.WriteAllBytes(file, s_current);
                Console.WriteLine($"HANG: {s_currentTarget} input still running after {hangMs} ms; input written to {file}");
                Environment.Exit(3);
            }
        }
    }

    private static string Short(string s) => s.Length > 100 ? s[..100] : s;

    private static MessageParser Parser(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Traces => ExportTraceServiceRequest.Parser,
        OtlpSignal.Metrics => ExportMetricsServiceRequest.Parser,
        _ => ExportLogsServiceRequest.Parser,
    };

    private static int Items(IMessage message) => message switch
    {
        ExportTraceServiceRequest t => t.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count)),
        ExportLogsServiceRequest l => l.ResourceLogs.Sum(r => r.ScopeLogs.Sum(s => s.LogRecords.Count)),
        ExportMetricsServiceRequest m => m.ResourceMetrics.Sum(r => r.ScopeMetrics.Sum(s => s.Metrics.Sum(x =>
            (x.Gauge?.DataPoints.Count ?? 0) + (x.Sum?.DataPoints.Count ?? 0) + (x.Histogram?.DataPoints.Count ?? 0)
            + (x.ExponentialHistogram?.DataPoints.Count ?? 0) + (x.Summary?.DataPoints.Count ?? 0)))),
        _ => -1,
    };

    private static List<(OtlpSignal Signal, byte[] Data)> Seeds()
    {
        // A richer trace than the unit tests' one: events, links, status, nested attribute values, two resources.
        var rich = TestRequests.Traces(5);
        var span = rich.ResourceSpans[0].ScopeSpans[0].Spans[1];
        span.ParentSpanId = ByteString.CopyFrom(TestRequests.SpanId(0));
        span.TraceState = "a=b";
        span.Status = new Status { Code = Status.Types.StatusCode.Error, Message = "boom" };
        span.Events.Add(new Span.Types.Event { Name = "ev", TimeUnixNano = TestRequests.BaseTime + 10, Attributes = { TestRequests.Attr("k", "v") } });
        span.Links.Add(new Span.Types.Link { TraceId = ByteString.CopyFrom(TestRequests.TraceId(9)), SpanId = ByteString.CopyFrom(TestRequests.SpanId(9)), Attributes = { TestRequests.Attr("l", "w") } });
        span.Attributes.Add(new KeyValue { Key = "nested", Value = TestRequests.NestedValue(6) });
        span.Attributes.Add(new KeyValue
        {
            Key = "kv",
            Value = new AnyValue { KvlistValue = new KeyValueList { Values = { TestRequests.Attr("x", "y"), new KeyValue { Key = "d", Value = new AnyValue { DoubleValue = 1.5 } } } } },
        });
        span.Attributes.Add(new KeyValue { Key = "b", Value = new AnyValue { BytesValue = ByteString.CopyFromUtf8("bytes") } });
        rich.ResourceSpans.Add(TestRequests.Traces(2, "other").ResourceSpans[0]);

        return
        [
            (OtlpSignal.Traces, TestRequests.Traces(1).ToByteArray()),
            (OtlpSignal.Traces, TestRequests.Traces(20).ToByteArray()),
            (OtlpSignal.Traces, rich.ToByteArray()),
            (OtlpSignal.Metrics, TestRequests.Metrics().ToByteArray()),
            (OtlpSignal.Logs, TestRequests.Logs().ToByteArray()),
        ];
    }
}

internal static class Mutators
{
    public static byte[] Bytes(byte[] input, byte[] donor, Random rng, bool protobuf)
    {
        var b = (byte[])input.Clone();
        int n = b.Length;
        switch (rng.Next(protobuf ? 11 : 8))
        {
            case 0: // bit flips
                if (n == 0) return b;
                for (int k = rng.Next(1, 5); k > 0; k--) b[rng.Next(n)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1: // random bytes
                if (n == 0) return b;
                for (int k = rng.Next(1, 5); k > 0; k--) b[rng.Next(n)] = (byte)rng.Next(256);
                return b;
            case 2: // truncation
                return b[..rng.Next(n + 1)];
            case 3: // splice: a prefix of this one, a suffix of the donor
                return [.. b[..rng.Next(n + 1)], .. donor[rng.Next(donor.Length + 1)..]];
            case 4: // insert random bytes
            {
                int at = rng.Next(n + 1);
                var chunk = new byte[rng.Next(1, 17)];
                rng.NextBytes(chunk);
                return [.. b[..at], .. chunk, .. b[at..]];
            }
            case 5: // delete a chunk
            {
                if (n == 0) return b;
                int at = rng.Next(n), len = Math.Min(n - at, rng.Next(1, 33));
                return [.. b[..at], .. b[(at + len)..]];
            }
            case 6: // duplicate a chunk elsewhere
            {
                if (n == 0) return b;
                int from = rng.Next(n), len = Math.Min(n - from, rng.Next(1, 65)), at = rng.Next(n + 1);
                return [.. b[..at], .. b[from..(from + len)], .. b[at..]];
            }
            case 7: // interesting values over a window
            {
                if (n == 0) return b;
                int at = rng.Next(n), len = Math.Min(n - at, rng.Next(1, 9));
                byte v = rng.Next(3) switch { 0 => 0x00, 1 => 0xFF, _ => 0x80 };
                b.AsSpan(at, len).Fill(v);
                return b;
            }
            default: // protobuf only: edit a length field (recomputed varint), or make it overlong
                return LengthEdit(b, rng);
        }
    }

    private static byte[] LengthEdit(byte[] b, Random rng)
    {
        var fields = new List<(int Offset, int Size, int Length)>();
        Collect(b, 0, b.Length, fields, 0);
        if (fields.Count == 0) return b;
        var (off, size, len) = fields[rng.Next(fields.Count)];
        ulong newLen = rng.Next(8) switch
        {
            0 => 0,
            1 => (ulong)Math.Max(0, len - rng.Next(1, 4)),
            2 => (ulong)(len + rng.Next(1, 4)),
            3 => int.MaxValue,
            4 => uint.MaxValue,
            5 => ulong.MaxValue,
            6 => (ulong)rng.Next(0, b.Length + 16),
            _ => (ulong)len, // same value, overlong encoding below
        };
        byte[] varint = Varint(newLen);
        if (rng.Next(4) == 0 && varint.Length < 10)
        {
            // Overlong: continuation bits with zero payload, up to 11 bytes (over the 10-byte limit) now and then.
            int pad = rng.Next(1, 12 - varint.Length);
            var longer = new List<byte>(varint);
            longer[^1] |= 0x80;
            for (int i = 1; i < pad; i++) longer.Add(0x80);
            longer.Add(0x00);
            varint = [.. longer];
        }

        return [.. b[..off], .. varint, .. b[(off + size)..]];
    }

    private static byte[] Varint(ulong v)
    {
        var list = new List<byte>();
        do
        {
            byte x = (byte)(v & 0x7F);
            v >>= 7;
            list.Add(v != 0 ? (byte)(x | 0x80) : x);
        }
        while (v != 0);
        return [.. list];
    }

    private static bool ReadVarint(byte[] b, ref int p, int end, out ulong v)
    {
        v = 0;
        for (int shift = 0; shift < 64 && p < end; shift += 7)
        {
            byte x = b[p++];
            v |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return true;
        }

        return false;
    }

    // Every length-delimited field that parses as such (strings and bytes too: harmless, they are fields as well).
    private static void Collect(byte[] b, int start, int end, List<(int, int, int)> acc, int depth)
    {
        int p = start;
        while (p < end)
        {
            if (!ReadVarint(b, ref p, end, out ulong tag)) return;
            switch ((int)(tag & 7))
            {
                case 0: if (!ReadVarint(b, ref p, end, out _)) return; break;
                case 1: p += 8; break;
                case 5: p += 4; break;
                case 2:
                {
                    int lo = p;
                    if (!ReadVarint(b, ref p, end, out ulong len) || len > (ulong)(end - p)) return;
                    acc.Add((lo, p - lo, (int)len));
                    if (depth < 40) Collect(b, p, p + (int)len, acc, depth + 1);
                    p += (int)len;
                    break;
                }

                default: return;
            }
        }
    }

    private static readonly string[] Values =
    [
        "18446744073709551616", "-1", "1e999", "-0", "1.5", "\"NaN\"", "\"-9223372036854775809\"", "null", "true", "{}", "[]",
        "\"\\uD800\"", "\"\\u0000\"", "\"zz\"", "\"0102030405060708090a0b0c0d0e0f1\"", "\"0102030405060708090a0b0c0d0e0f10aa\"",
        "\"AAAA====\"", "\"" + new string('a', 5000) + "\"", "{\"stringValue\":\"x\",\"intValue\":\"1\"}", "\"\\x\"", "9999999999999999999999",
    ];

    public static byte[] Json(byte[] input, Random rng)
    {
        try
        {
            return JsonEdit(input, rng);
        }
        catch (ArgumentOutOfRangeException)
        {
            return input; // an edit that does not fit this input (the mutator's own index arithmetic): keep the input
        }
    }

    private static byte[] JsonEdit(byte[] input, Random rng)
    {
        string s = Encoding.UTF8.GetString(input);
        switch (rng.Next(4))
        {
            case 0: // replace the value after a random ':' with an interesting one
            {
                int at = RandomIndexOf(s, ':', rng);
                if (at < 0) return input;
                int vs = at + 1, ve = ValueEnd(s, vs);
                return Encoding.UTF8.GetBytes(s[..vs] + Values[rng.Next(Values.Length)] + s[ve..]);
            }
            case 1: // deep nesting at a value position
            {
                int at = RandomIndexOf(s, ':', rng);
                if (at < 0) return input;
                int depth = rng.Next(1, 3000);
                bool arr = rng.Next(2) == 0;
                string open = arr ? "[" : "{\"arrayValue\":{\"values\":[{";
                string close = arr ? "]" : "}]}}";
                var sb = new StringBuilder(s[..(at + 1)]);
                for (int i = 0; i < depth; i++) sb.Append(open);
                sb.Append(arr ? "1" : "\"stringValue\":\"x\"");
                for (int i = 0; i < depth; i++) sb.Append(close);
                return Encoding.UTF8.GetBytes(sb + s[ValueEnd(s, at + 1)..]);
            }
            case 2: // duplicate a key:value pair
            {
                int at = RandomIndexOf(s, ':', rng);
                if (at < 0) return input;
                int ks = s.LastIndexOf('"', Math.Max(0, s.LastIndexOf('"', at - 1) - 1));
                if (ks < 0) return input;
                int ve = ValueEnd(s, at + 1);
                return Encoding.UTF8.GetBytes(s[..ve] + "," + s[ks..ve] + s[ve..]);
            }
            default: // rename a key (snake_case / unknown / empty)
            {
                int at = RandomIndexOf(s, ':', rng);
                if (at < 1 || s[at - 1] != '"') return input;
                int ks = s.LastIndexOf('"', at - 2);
                if (ks < 0) return input;
                string[] keys = ["", "traceId", "trace_id", "spanId", "resourceSpans", "scopeSpans", "spans", "kvlistValue", "unknownField", "intValue"];
                return Encoding.UTF8.GetBytes(s[..(ks + 1)] + keys[rng.Next(keys.Length)] + s[(at - 1)..]);
            }
        }
    }

    private static int RandomIndexOf(string s, char c, Random rng)
    {
        int count = 0;
        foreach (char x in s) if (x == c) count++;
        if (count == 0) return -1;
        int k = rng.Next(count);
        for (int i = 0; i < s.Length; i++) if (s[i] == c && k-- == 0) return i;
        return -1;
    }

    // End of the JSON value starting at i (whitespace allowed); brackets are matched, strings skipped.
    private static int ValueEnd(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        if (i >= s.Length) return s.Length;
        if (s[i] == '"')
        {
            for (int j = i + 1; j < s.Length; j++)
            {
                if (s[j] == '\\') { j++; continue; }
                if (s[j] == '"') return j + 1;
            }

            return s.Length;
        }

        if (s[i] is '{' or '[')
        {
            int depth = 0;
            bool str = false;
            for (int j = i; j < s.Length; j++)
            {
                char c = s[j];
                if (str) { if (c == '\\') j++; else if (c == '"') str = false; continue; }
                if (c == '"') str = true;
                else if (c is '{' or '[') depth++;
                else if ((c is '}' or ']') && --depth == 0) return j + 1;
            }

            return s.Length;
        }

        int k = i;
        while (k < s.Length && s[k] is not (',' or '}' or ']')) k++;
        return k;
    }
}
