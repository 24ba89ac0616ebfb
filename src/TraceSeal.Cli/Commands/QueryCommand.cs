using System.CommandLine;
using System.Globalization;
using TraceSeal.Collector.Config;
using TraceSeal.Query;
using TraceSeal.Sealing;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `traceseal query --store DIR|s3://BUCKET/PREFIX --identity FILE (--trace-id HEX | --service S --since 1h ...)`:
/// reads traces back from a sealed store with identity (private) keys. An s3:// store holds the blocks the
/// collectors uploaded; spans still in their local WALs are not visible there (a note on stderr says so). Any integrity error names the object and its code
/// and exits 1; an object sealed to other keys says which recipients it wants.
/// </summary>
internal static class QueryCommand
{
    public static Command Create()
    {
        var store = new Option<string>("--store")
        {
            Description = "The sealed store: a directory (sealed_store::directory of the collector), or s3://BUCKET/PREFIX (sealed_store::s3; " +
                          "credentials from the AWS environment variables / profile chain).",
            Required = true,
        };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "With s3://: the endpoint URL of an S3-compatible server (MinIO, Ceph); default AWS." };
        var s3Region = new Option<string?>("--s3-region") { Description = "With s3://: the region (default: the AWS SDK's, or us-east-1 with --s3-endpoint)." };
        var s3PathStyle = new Option<bool>("--s3-path-style") { Description = "With s3://: path-style addressing (MinIO and most self-hosted servers need it)." };
        var identity = new Option<string[]>("--identity")
        {
            Description = "Identity key file (NAME.identity.pem from `traceseal keys init`); repeatable.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var passphraseEnv = new Option<string?>("--passphrase-env") { Description = "Environment variable holding the identity passphrase." };
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant (default: every tenant in the store)." };
        var traceId = new Option<string?>("--trace-id") { Description = "Trace id, 32 hex digits." };
        var service = new Option<string?>("--service") { Description = "Resource service.name." };
        var name = new Option<string?>("--name") { Description = "Span name." };
        var since = new Option<string?>("--since") { Description = "Spans of the last DURATION (Go syntax: 30m, 1h, 2h30m)." };
        var from = new Option<string?>("--from") { Description = "Spans ending at or after this time (RFC 3339, e.g. 2025-01-01T10:00:00Z)." };
        var to = new Option<string?>("--to") { Description = "Spans starting at or before this time (RFC 3339)." };
        var minDuration = new Option<string?>("--min-duration") { Description = "Spans lasting at least DURATION (e.g. 100ms)." };
        var maxDuration = new Option<string?>("--max-duration") { Description = "Spans lasting at most DURATION." };
        var attr = new Option<string[]>("--attr") { Description = "key=value equality on a span (or resource) attribute; repeatable.", AllowMultipleArgumentsPerToken = true };
        var limit = new Option<int>("--limit") { Description = "At most N traces, the most recent first (0 = all).", DefaultValueFactory = _ => 20 };
        var format = new Option<string>("--format") { Description = "json (OTLP/JSON ExportTraceServiceRequest) or tree (readable span tree).", DefaultValueFactory = _ => "tree" };
        format.AcceptOnlyFromAmong("json", "tree");

        var cmd = new Command("query", "Read traces back from a sealed store with an identity key.")
        {
            store, s3Endpoint, s3Region, s3PathStyle, identity, passphraseEnv, tenant, traceId, service, name, since, from, to, minDuration, maxDuration, attr, limit, format,
        };
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            var storeArg = parse.GetValue(store)!;
            S3StoreLocation? s3 = null;
            if (S3StoreLocation.IsS3Uri(storeArg))
            {
                try
                {
                    s3 = S3StoreLocation.Parse(storeArg) with
                    {
                        Endpoint = parse.GetValue(s3Endpoint),
                        Region = parse.GetValue(s3Region),
                        ForcePathStyle = parse.GetValue(s3PathStyle),
                    };
                }
                catch (FormatException e)
                {
                    throw new ArgumentException($"--store: {e.Message}", e);
                }
            }
            else if (parse.GetValue(s3Endpoint) is not null || parse.GetValue(s3Region) is not null || parse.GetValue(s3PathStyle))
            {
                throw new ArgumentException("--s3-endpoint, --s3-region and --s3-path-style apply to an s3://BUCKET/PREFIX store only");
            }

            var query = new TraceQuery
            {
                TraceId = ParseTraceId(parse.GetValue(traceId)),
                Service = parse.GetValue(service),
                SpanName = parse.GetValue(name),
                From = ParseFrom(parse.GetValue(since), parse.GetValue(from)),
                To = ParseTime("--to", parse.GetValue(to)),
                MinDuration = ParseDuration("--min-duration", parse.GetValue(minDuration)),
                MaxDuration = ParseDuration("--max-duration", parse.GetValue(maxDuration)),
                Attributes = ParseAttributes(parse.GetValue(attr) ?? []),
                Tenant = parse.GetValue(tenant),
                Limit = parse.GetValue(limit) >= 0 ? parse.GetValue(limit) : throw new ArgumentException("--limit: must be 0 or more"),
            };
            var passphrase = KeysCommand.ReadPassphrase(parse.GetValue(passphraseEnv));
            var identities = (parse.GetValue(identity) ?? []).Select(f => KeyFiles.LoadIdentity(f, passphrase)).ToList();
            var reader = s3 is null ? new StoreReader(storeArg, identities) : new StoreReader(s3, identities);
            return Run(reader, query, parse.GetValue(format)!, Console.Out, Console.Error);
        }));
        return cmd;
    }

    /// <summary>The command body without the parser, for tests: writes the result to <paramref name="output"/>.</summary>
    internal static int Run(StoreReader reader, TraceQuery query, string format, TextWriter output, TextWriter error)
    {
        QueryResult result;
        try
        {
            result = reader.Query(query);
        }
        catch (Exception e) when (e is StoreIntegrityException or StoreAccessException)
        {
            error.WriteLine($"error: {e.Message}");
            return Program.ExitFailure;
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException)
        {
            // Object storage unreachable, no credentials, no such bucket, access denied: the store, not a bug.
            error.WriteLine($"error: object storage: {e.Message}");
            return Program.ExitFailure;
        }

        output.Write(format == "json" ? QueryOutput.ToJson(result) + "\n" : QueryOutput.ToTree(result));
        if (!reader.SeesLiveWal)
        {
            error.WriteLine("note: object storage holds the sealed blocks only; spans still in the collectors' local WALs " +
                            "(not yet cut into a block: up to block::max_age, or longer while uploads fail) are not shown");
        }

        if (result.TracesOverLimit > 0)
        {
            error.WriteLine($"{result.TracesOverLimit} more matching trace(s) not shown; raise --limit");
        }

        return Program.ExitOk;
    }

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
