using System.CommandLine;
using System.Globalization;
using TraceSeal.Collector.Config;
using TraceSeal.Otlp;
using TraceSeal.Query;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `traceseal query --store DIR|s3://BUCKET/PREFIX --identity FILE (--trace-id HEX | --service S --since 1h ...)`:
/// reads telemetry back from a sealed store with identity (private) keys. For traces, filters select traces and every
/// span of a selected trace is printed (a tree marks errors, shows kind and status; -v adds attributes and events).
/// `--signal logs|metrics` reads the other signals. Exit codes: 0 something matched, 3 nothing matched ("no traces
/// matched" on stderr), 1 any integrity error (naming the object and its code) or an unreachable store, 2 usage.
/// A record that authenticates but does not decode is reported by object on stderr and skipped. An s3:// store holds
/// the blocks the collectors uploaded; spans still in their local WALs are not visible there (a note on stderr says so).
/// </summary>
internal static class QueryCommand
{
    /// <summary>The query ran and matched nothing (documented in the README and in --help).</summary>
    public const int ExitNoMatch = 3;

    public static Command Create()
    {
        var store = new StoreArguments();
        var signal = new Option<string>("--signal") { Description = "traces (default), logs or metrics.", DefaultValueFactory = _ => "traces" };
        signal.AcceptOnlyFromAmong("traces", "logs", "metrics");
        var traceId = new Option<string?>("--trace-id") { Description = "Trace id, 32 hex digits (logs: the records of this trace)." };
        var service = new Option<string?>("--service") { Description = "Resource service.name." };
        var name = new Option<string?>("--name") { Description = "Span name (metrics: the metric name)." };
        var since = new Option<string?>("--since") { Description = "The last DURATION (Go syntax: 30m, 1h, 2h30m)." };
        var from = new Option<string?>("--from") { Description = "At or after this time (RFC 3339, e.g. 2025-01-01T10:00:00Z)." };
        var to = new Option<string?>("--to") { Description = "At or before this time (RFC 3339)." };
        var minDuration = new Option<string?>("--min-duration") { Description = "Traces with a span lasting at least DURATION (e.g. 100ms)." };
        var maxDuration = new Option<string?>("--max-duration") { Description = "Traces with a span lasting at most DURATION." };
        var attr = new Option<string[]>("--attr") { Description = "key=value equality on a span (or resource) attribute; repeatable.", AllowMultipleArgumentsPerToken = true };
        var status = new Option<string?>("--status") { Description = "Traces with a span of this status: error, ok or unset." };
        status.AcceptOnlyFromAmong("error", "ok", "unset");
        var text = new Option<string?>("--text") { Description = "Logs and metrics: case-insensitive text in a log's body or attributes, or a metric's name or description." };
        var severity = new Option<string?>("--severity") { Description = "Logs: at least this severity: trace, debug, info, warn, error, fatal." };
        severity.AcceptOnlyFromAmong("trace", "debug", "info", "warn", "error", "fatal");
        var limit = new Option<int>("--limit") { Description = "At most N traces (logs, metrics: records), the most recent (0 = all; traces are read and printed a page of about 100k spans at a time, earliest first).", DefaultValueFactory = _ => 20 };
        var format = new Option<string>("--format") { Description = "tree (readable) or json (OTLP/JSON: one Export*ServiceRequest).", DefaultValueFactory = _ => "tree" };
        format.AcceptOnlyFromAmong("json", "tree");
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Tree: attributes, events and links of every span." };

        var cmd = new Command("query", "Read traces (whole traces), logs or metrics back from a sealed store with an identity key. " +
                                       "Exit 0: matched; 3: nothing matched; 1: integrity error or unreachable store; 2: usage.")
        {
            signal, traceId, service, name, since, from, to, minDuration, maxDuration, attr, status, text, severity, limit, format, verbose,
        };
        store.AddTo(cmd);
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            var limitValue = parse.GetValue(limit) >= 0 ? parse.GetValue(limit) : throw new ArgumentException("--limit: must be 0 or more");
            var id = ParseTraceId(parse.GetValue(traceId));
            var fromValue = ParseFrom(parse.GetValue(since), parse.GetValue(from));
            var toValue = ParseTime("--to", parse.GetValue(to));
            var output = new Output(parse.GetValue(format)!, parse.GetValue(verbose), Console.Out, Console.Error);
            var sig = parse.GetValue(signal)!;
            if (sig != "traces")
            {
                var signalQuery = new SignalQuery
                {
                    Service = parse.GetValue(service),
                    Name = parse.GetValue(name),
                    Text = parse.GetValue(text),
                    MinSeverity = SeverityNumber(parse.GetValue(severity)),
                    TraceId = id,
                    From = fromValue,
                    To = toValue,
                    Tenant = parse.GetValue(store.Tenant),
                    Limit = limitValue == 20 && parse.GetResult(limit) is null ? 100 : limitValue,
                };
                return RunSignal(store.Open(parse), sig == "logs" ? OtlpSignal.Logs : OtlpSignal.Metrics, signalQuery, output);
            }

            var query = new TraceQuery
            {
                TraceId = id,
                Service = parse.GetValue(service),
                SpanName = parse.GetValue(name),
                From = fromValue,
                To = toValue,
                MinDuration = ParseDuration("--min-duration", parse.GetValue(minDuration)),
                MaxDuration = ParseDuration("--max-duration", parse.GetValue(maxDuration)),
                Attributes = ParseAttributes(parse.GetValue(attr) ?? []),
                Status = parse.GetValue(status) switch { "error" => SpanStatus.Error, "ok" => SpanStatus.Ok, "unset" => SpanStatus.Unset, _ => null },
                Tenant = parse.GetValue(store.Tenant),
                Limit = limitValue,
            };
            return Run(store.Open(parse), query, output);
        }));
        return cmd;
    }

    /// <summary>How results are written: format, verbosity, and the two streams.</summary>
    internal sealed record Output(string Format, bool Verbose, TextWriter Out, TextWriter Error);

    /// <summary>The traces body without the parser, for tests.</summary>
    internal static int Run(StoreReader reader, TraceQuery query, string format, TextWriter output, TextWriter error, int pageSpans = PageSpans) =>
        Run(reader, query, new Output(format, Verbose: false, output, error), pageSpans);

    /// <summary>
    /// Spans per page of the answer (<see cref="TraceSearch.WholeTracesPaged"/>): traces are read and printed a page at a time,
    /// so `--limit 0` over a store of millions of spans holds one page (about 100 MB of decoded spans at most), not the store.
    /// </summary>
    internal const int PageSpans = 100_000;

    internal static int Run(StoreReader reader, TraceQuery query, Output o, int pageSpans = PageSpans) => Guard(reader, o, () =>
    {
        var json = new QueryOutput.JsonPages(o.Out);
        var result = TraceSearch.WholeTracesPaged(reader, query, pageSpans, page =>
        {
            if (o.Format == "json")
            {
                json.Write(page);
            }
            else
            {
                o.Out.Write(QueryOutput.ToTree(page, o.Verbose));
                o.Out.Flush();
            }
        });
        json.End();
        ReportSkipped(result.Skipped, o.Error);
        if (result.TraceCount == 0)
        {
            o.Error.WriteLine("no traces matched");
            return ExitNoMatch;
        }

        if (result.TracesOverLimit > 0)
        {
            o.Error.WriteLine($"{result.TracesOverLimit} more matching trace(s) not shown; raise --limit");
        }

        return Program.ExitOk;
    });

    internal static int RunSignal(StoreReader reader, OtlpSignal signal, SignalQuery query, Output o) => Guard(reader, o, () =>
    {
        int count, over;
        if (signal == OtlpSignal.Logs)
        {
            var result = SignalSearch.Logs(reader, query);
            ReportSkipped(result.Skipped, o.Error);
            (count, over) = (result.Rows.Count, result.OverLimit);
            if (count > 0)
            {
                o.Out.Write(o.Format == "json" ? OtlpJson.ToJson(result.ToRequest()) + "\n" : QueryOutput.LogLines(result));
            }
        }
        else
        {
            var result = SignalSearch.Metrics(reader, query);
            ReportSkipped(result.Skipped, o.Error);
            (count, over) = (result.Rows.Count, result.OverLimit);
            if (count > 0)
            {
                o.Out.Write(o.Format == "json" ? OtlpJson.ToJson(result.ToRequest()) + "\n" : QueryOutput.MetricLines(result));
            }
        }

        var noun = signal == OtlpSignal.Logs ? "logs" : "metrics";
        if (count == 0)
        {
            o.Error.WriteLine($"no {noun} matched");
            return ExitNoMatch;
        }

        if (over > 0)
        {
            o.Error.WriteLine($"{over} more matching {(signal == OtlpSignal.Logs ? "log record(s)" : "metric(s)")} not shown; raise --limit");
        }

        return Program.ExitOk;
    });

    /// <summary>Store failures are exit 1 with the object named; a note when object storage cannot see the live WALs.</summary>
    private static int Guard(StoreReader reader, Output o, Func<int> body)
    {
        int code;
        try
        {
            code = body();
        }
        catch (Exception e) when (e is StoreIntegrityException or StoreAccessException)
        {
            o.Error.WriteLine($"error: {e.Message}");
            return Program.ExitFailure;
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException)
        {
            // Object storage unreachable, no credentials, no such bucket, access denied: the store, not a bug.
            o.Error.WriteLine($"error: object storage: {e.Message}");
            return Program.ExitFailure;
        }

        if (!reader.SeesLiveWal)
        {
            o.Error.WriteLine("note: object storage holds the sealed blocks only; spans still in the collectors' local WALs " +
                              "(not yet cut into a block: up to block::max_age, or longer while uploads fail) are not shown");
        }

        return code;
    }

    private static void ReportSkipped(IReadOnlyList<SkippedRecord> skipped, TextWriter error)
    {
        foreach (var s in skipped)
        {
            error.WriteLine($"warning: {s.ObjectPath}: a {s.Signal.ToString().ToLowerInvariant()} record could not be decoded and was skipped ({s.Reason})");
        }
    }

    private static int SeverityNumber(string? name) => name switch
    {
        "trace" => 1,
        "debug" => 5,
        "info" => 9,
        "warn" => 13,
        "error" => 17,
        "fatal" => 21,
        _ => 0,
    };

    private static byte[]? ParseTraceId(string? hex)
    {
        if (hex is null)
        {
            return null;
        }

        try
        {
            var id = Convert.FromHexString(hex);
            return id.Length == 16 ? id : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"--trace-id: \"{hex}\" is not a trace id; expected 32 hex digits");
        }
    }

    private static DateTimeOffset? ParseFrom(string? since, string? from)
    {
        if (since is not null && from is not null)
        {
            throw new ArgumentException("--since and --from: give one of them");
        }

        return since is not null ? DateTimeOffset.UtcNow - ParseDuration("--since", since)!.Value : ParseTime("--from", from);
    }

    private static DateTimeOffset? ParseTime(string option, string? text) =>
        text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
        : throw new ArgumentException($"{option}: \"{text}\" is not a time; use RFC 3339, e.g. 2025-01-01T10:00:00Z");

    private static TimeSpan? ParseDuration(string option, string? text) =>
        text is null ? null
        : GoDuration.TryParse(text, out var d) ? d
        : throw new ArgumentException($"{option}: \"{text}\" is not a duration; use e.g. 500ms, 30s, 1h30m");

    private static List<KeyValuePair<string, string>> ParseAttributes(string[] items)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var item in items)
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--attr: \"{item}\" is not key=value");
            }

            list.Add(new(item[..eq], item[(eq + 1)..]));
        }

        return list;
    }
}
