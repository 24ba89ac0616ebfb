using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TraceSeal.Collector.Config;
using TraceSeal.Query;
using TraceSeal.Query.Compaction;
using TraceSeal.Sealing;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `traceseal compact --store DIR|s3://BUCKET/PREFIX --identity FILE --recipient FILE... [--every 10m]`: reader-side
/// compaction (docs/operations.md): merges the small blocks of each hour bucket into large ones and commits each bucket
/// in a sealed manifest, so a lookup opens few objects however long the store runs. Safe while collectors write and
/// readers read; a pass killed anywhere is finished by the next. One line of progress per bucket changed, one line
/// per pass. Exit 0 done (or stopped by Ctrl-C between passes), 1 failure (one line, naming the object), 2 usage.
/// </summary>
internal static class CompactCommand
{
    public static Command Create()
    {
        var store = new StoreArguments();
        var recipient = new Option<string[]>("--recipient")
        {
            Description = "Recipient key file merged blocks are sealed to (NAME.recipient.pem, the collectors' sealed_store::recipients); repeatable.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var every = new Option<string?>("--every") { Description = "Run a pass every DURATION (e.g. 10m) until Ctrl-C; default: one pass." };
        var minAge = new Option<string>("--min-age") { Description = "Leave blocks written less than DURATION ago for a later pass.", DefaultValueFactory = _ => "1m" };
        var targetBytes = new Option<long>("--target-bytes")
        {
            Description = "Size of a merged block; blocks under half of it are merged.",
            DefaultValueFactory = _ => new CompactionOptions().TargetBlockBytes,
        };

        var cmd = new Command("compact", "Merge small sealed blocks and commit manifests so lookups stay fast as the store grows (reader side: needs an identity).")
        {
            recipient, every, minAge, targetBytes,
        };
        store.AddTo(cmd, tenant: false);
        cmd.SetAction((parse, ct) => CommandErrors.RunAsync(() =>
        {
            var storeArg = parse.GetValue(store.Store)!;
            var s3 = store.Location(parse);
            var interval = Duration("--every", parse.GetValue(every));
            var options = new CompactionOptions
            {
                MinAge = Duration("--min-age", parse.GetValue(minAge)) ?? TimeSpan.Zero,
                TargetBlockBytes = parse.GetValue(targetBytes) >= 1024 * 1024 ? parse.GetValue(targetBytes) : throw new ArgumentException("--target-bytes: at least 1048576"),
            };
            if (interval is { } i && i < TimeSpan.FromSeconds(1))
            {
                throw new ArgumentException("--every: at least 1s");
            }

            var identities = store.Identities(parse);
            var recipients = (parse.GetValue(recipient) ?? []).Select(KeyFiles.LoadRecipient).ToList();
            var compactor = s3 is null
                ? new StoreCompactor(storeArg, identities, recipients, options)
                : new StoreCompactor(s3, identities, recipients, options);
            return RunAsync(compactor, interval, Console.Out, Console.Error, ct);
        }));
        return cmd;
    }

    /// <summary>The passes without the parser, for tests. A failed pass ends the command (exit 1); a scheduler restarts it.</summary>
    internal static async Task<int> RunAsync(StoreCompactor compactor, TimeSpan? every, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        while (true)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                var report = compactor.Run(line => output.WriteLine($"compact: {line}"), cancellationToken);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"compact: {report.Buckets} bucket(s); merged {report.BlocksMerged} block(s) into {report.BlocksWritten}; {report.ManifestsWritten} manifest(s) written; " +
                    $"{report.ObjectsDeleted} object(s) deleted; objects {report.ObjectsBefore} -> {report.ObjectsAfter}; {watch.Elapsed.TotalSeconds:0.0} s"));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                output.WriteLine("compact: stopped; the next pass finishes what this one began");
                return Program.ExitOk;
            }
            catch (Exception e) when (e is StoreIntegrityException or StoreAccessException)
            {
                error.WriteLine($"error: {e.Message}");
                return Program.ExitFailure;
            }
            catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException)
            {
                error.WriteLine($"error: object storage: {e.Message}");
                return Program.ExitFailure;
            }

            if (every is not { } interval)
            {
                return Program.ExitOk;
            }

            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return Program.ExitOk;
            }
        }
    }

    private static TimeSpan? Duration(string option, string? text) =>
        text is null ? null
        : GoDuration.TryParse(text, out var d) ? d
        : throw new ArgumentException($"{option}: \"{text}\" is not a duration; use e.g. 30s, 10m, 1h");
}
