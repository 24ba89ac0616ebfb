using System.Diagnostics;
using System.Security.Authentication;

namespace TraceSeal.LoadGen;

/// <summary>
/// One request in flight at a time, on one connection's client. Counts and latencies stay in the worker
/// (no sharing on the hot path); only the progress counters are shared.
/// </summary>
internal sealed class LoadWorker
{
    // After a transport failure (refused connection, failed handshake) wait a little instead of spinning.
    private static readonly TimeSpan TransportBackoff = TimeSpan.FromMilliseconds(100);

    private readonly int _index;
    private readonly HttpClient _client;
    private readonly OtlpSender _sender;
    private readonly PayloadTemplate _template;
    private readonly ClientTls _tls;
    private readonly ProgressCounters _progress;

    public LoadWorker(int index, HttpClient client, OtlpSender sender, PayloadTemplate template, ClientTls tls, ProgressCounters progress)
    {
        _index = index;
        _client = client;
        _sender = sender;
        _template = template;
        _tls = tls;
        _progress = progress;
    }

    public LatencyHistogram Latency { get; } = new();

    public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    public long Requests { get; private set; }

    public long Spans { get; private set; }

    /// <param name="start">Stopwatch timestamp of the run's start.</param>
    /// <param name="end">Stopwatch timestamp after which no new request is started (in-flight ones finish).</param>
    /// <param name="interval">Stopwatch ticks between this worker's sends at the target rate; 0 = back to back.</param>
    public async Task RunAsync(ulong runId, long start, long end, long interval, int workers, CancellationToken cancellationToken)
    {
        try
        {
            await RunCoreAsync(runId, start, end, interval, workers, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C: stop where we are; what was acknowledged so far is still reported.
        }
    }

    private async Task RunCoreAsync(ulong runId, long start, long end, long interval, int workers, CancellationToken cancellationToken)
    {
        var body = _template.Bytes.ToArray();
        var scratch = new byte[16 * 1024];
        ulong sequence = (ulong)_index << 40;           // distinct trace ids across workers without coordination
        long next = start + (interval * _index / Math.Max(1, workers));  // stagger workers over one interval

        while (!cancellationToken.IsCancellationRequested)
        {
            long intended;
            if (interval > 0)
            {
                if (next >= end)
                {
                    break;
                }

                long wait = next - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(Stopwatch.GetElapsedTime(0, wait), cancellationToken).ConfigureAwait(false);
                }

                // Latency counts from the scheduled send time, so a slow server cannot hide its queueing
                // by delaying our next send (coordinated omission).
                intended = next;
                next += interval;
            }
            else
            {
                intended = Stopwatch.GetTimestamp();
                if (intended >= end)
                {
                    break;
                }
            }

            _template.PatchTraceId(body, runId, ++sequence);
            _template.PatchTimes(body, (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000);
            string? failure;
            bool transport = false;
            try
            {
                failure = await _sender.SendAsync(_client, body, scratch, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                failure = TransportLabel(e);
                transport = true;
            }

            if (failure is null)
            {
                Latency.Record((long)Stopwatch.GetElapsedTime(intended).TotalMicroseconds);
                Requests++;
                Spans += _template.Spans;
                _progress.OnAcknowledged(_template.Spans);
            }
            else
            {
                Errors[failure] = Errors.GetValueOrDefault(failure) + 1;
                _progress.OnError();
                if (transport)
                {
                    await Task.Delay(TransportBackoff, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private string TransportLabel(Exception e)
    {
        if (e is TaskCanceledException)
        {
            return "timeout (no answer within the request timeout)";
        }

        var inner = e;
        while (inner.InnerException is not null)
        {
            if (inner is AuthenticationException)
            {
                break;
            }

            inner = inner.InnerException;
        }

        if (inner is AuthenticationException)
        {
            return "tls: " + (_tls.LastRejection ?? inner.Message + " (the server may have refused the client certificate)");
        }

        var message = inner.Message;
        return "transport: " + (message.Length > 160 ? message[..160] : message);
    }
}
