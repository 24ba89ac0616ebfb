using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace TraceSeal.LoadGen;

/// <summary>
/// Runs <c>connections × concurrency</c> workers for the duration, prints a progress line each second, and
/// merges the workers' figures. New requests stop at the deadline; those in flight finish (bounded by the
/// request timeout), so "acknowledged" is exact — a server-side count can be compared with it.
/// </summary>
internal static class LoadRunner
{
    public static async Task<LoadResult> RunAsync(LoadOptions options, TextWriter? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var template = PayloadTemplate.Build(options.Protocol, options.SpansPerRequest, options.AttributesPerSpan, options.AttributeBytes);
        using var tls = ClientTls.Load(options.CaFile, options.CertFile, options.KeyFile);
        var sender = new OtlpSender(options.Endpoint, options.Protocol, options.Http11);
        var clients = new HttpClient[options.Connections];
        for (int i = 0; i < clients.Length; i++)
        {
            clients[i] = new HttpClient(tls.CreateHandler(options.Http11, options.Concurrency, options.RequestTimeout), disposeHandler: true)
            {
                Timeout = options.RequestTimeout,
            };
        }

        try
        {
            var counters = new ProgressCounters();
            var workers = new LoadWorker[options.Workers];
            for (int i = 0; i < workers.Length; i++)
            {
                workers[i] = new LoadWorker(i, clients[i % clients.Length], sender, template, tls, counters);
            }

            // Random high half of every trace id: runs against the same server never repeat a trace id.
            ulong runId = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1;
            long interval = options.Rate > 0 ? (long)(Stopwatch.Frequency * workers.Length / options.Rate) : 0;
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            long start = Stopwatch.GetTimestamp();
            long end = start + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);
            var tasks = new Task[workers.Length];
            for (int i = 0; i < workers.Length; i++)
            {
                var worker = workers[i];
                tasks[i] = Task.Run(() => worker.RunAsync(runId, start, end, interval, workers.Length, cancellationToken), CancellationToken.None);
            }

            var all = Task.WhenAll(tasks);
            await ReportProgressAsync(all, counters, start, progress).ConfigureAwait(false);
            await all.ConfigureAwait(false);
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            return Merge(options, template, workers, elapsed, cpu / elapsed);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static async Task ReportProgressAsync(Task all, ProgressCounters counters, long start, TextWriter? progress)
    {
        long lastSpans = 0, lastRequests = 0;
        var lastTime = TimeSpan.Zero;
        while (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false) != all)
        {
            if (progress is null)
            {
                continue;
            }

            var now = Stopwatch.GetElapsedTime(start);
            double dt = (now - lastTime).TotalSeconds;
            long spans = counters.Spans, requests = counters.Requests;
            await progress.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"loadgen: {now.TotalSeconds,5:F1}s  {(spans - lastSpans) / dt,12:N0} spans/s  {(requests - lastRequests) / dt,9:N0} req/s  errors {counters.Errors:N0}")).ConfigureAwait(false);
            (lastSpans, lastRequests, lastTime) = (spans, requests, now);
        }
    }

    private static LoadResult Merge(LoadOptions options, PayloadTemplate template, LoadWorker[] workers, double elapsed, double cpuCores)
    {
        var latency = new LatencyHistogram();
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long requests = 0, spans = 0;
        foreach (var worker in workers)
        {
            latency.Add(worker.Latency);
            requests += worker.Requests;
            spans += worker.Spans;
            foreach (var (label, count) in worker.Errors)
            {
                errors[label] = errors.GetValueOrDefault(label) + count;
            }
        }

        return new LoadResult
        {
            Protocol = LoadProtocols.Name(options.Protocol),
            Endpoint = options.Endpoint.ToString(),
            SpansPerRequest = options.SpansPerRequest,
            Connections = options.Connections,
            Concurrency = options.Concurrency,
            TargetRate = options.Rate,
            RequestBytes = template.Bytes.Length,
            ElapsedSeconds = elapsed,
            Requests = requests,
            Spans = spans,
            ErrorsByStatus = errors,
            P50Micros = latency.Percentile(50),
            P90Micros = latency.Percentile(90),
            P99Micros = latency.Percentile(99),
            MaxMicros = latency.MaxMicros,
            ClientCpuCores = cpuCores,
        };
    }
}
