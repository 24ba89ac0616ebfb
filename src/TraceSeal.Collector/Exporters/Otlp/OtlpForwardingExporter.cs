using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// The <c>otlp</c> (OTLP/gRPC) and <c>otlphttp</c> exporters: forward each validated request upstream as-is,
/// over TLS with a pinned CA (mutual TLS with cert_file/key_file), retrying per the OTLP specification.
/// <para>
/// Interim acknowledgement (until the sealed WAL lands with the sealed store): the client's request is
/// acknowledged only after upstream accepted it. <see cref="ExportAsync"/> retries within a per-call budget
/// (the smaller of max_elapsed_time and <see cref="MaxCallBudget"/>); when that runs out the batch is handed
/// back to the client as a retryable refusal (<see cref="ClientRetryAfter"/>). Nothing is queued: no plaintext
/// buffer exists anywhere, in memory beyond the requests in flight or on disk. With the WAL, the sealed log
/// becomes the queue and retries continue in the background for the full max_elapsed_time.
/// </para>
/// </summary>
internal sealed class OtlpForwardingExporter : IExporter
{
    /// <summary>A client request cannot wait longer than this for upstream (SDK export timeouts are ~10–30 s).</summary>
    internal static readonly TimeSpan MaxCallBudget = TimeSpan.FromSeconds(30);

    /// <summary>What the client is told when upstream stayed unavailable for the whole budget.</summary>
    internal static readonly TimeSpan ClientRetryAfter = TimeSpan.FromSeconds(5);

    internal const string UnavailableReason = "upstream unavailable";

    private static readonly string[] SignalNames = ["traces", "metrics", "logs"];

    private readonly OtlpExporterSettings _settings;
    private readonly OtlpTarget _target;
    private readonly ExportWire _wire;
    private readonly UpstreamClientPool _clients;
    private readonly SemaphoreSlim _consumers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private int _failing;

    /// <summary>Validates the endpoint (plaintext only with http:// and insecure) and loads the TLS files; throws <see cref="InvalidOperationException"/> naming the key.</summary>
    public OtlpForwardingExporter(string id, OtlpExporterSettings settings, ILogger logger, TimeProvider? time = null, Func<double>? random = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        Id = id;
        _settings = settings;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared.NextDouble;
        _target = OtlpTarget.Parse(id, settings);
        var headers = new OtlpExporterHeaders(id, settings.Headers);
        bool gzip = string.Equals(settings.Compression, "gzip", StringComparison.Ordinal);
        _wire = settings.Protocol == OtlpExporterProtocol.Grpc
            ? new GrpcExportWire(_target, headers, gzip)
            : new HttpExportWire(_target, headers, gzip, _time);
        _clients = new UpstreamClientPool(id, _target, settings.Tls, settings.Timeout, logger);

        // num_consumers bounds the requests in flight upstream, as upstream's sending queue consumers do.
        int consumers = Math.Max(1, settings.Queue.NumConsumers);
        _consumers = new SemaphoreSlim(consumers, consumers);
    }

    /// <summary>For the component factory: construction errors are prefixed with the config file, as loader errors are.</summary>
    public static OtlpForwardingExporter Create(string id, OtlpExporterSettings settings, string configPath, ILogger logger)
    {
        try
        {
            return new OtlpForwardingExporter(id, settings, logger);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{configPath}: {ex.Message}", ex);
        }
    }

    public string Id { get; }

    public ExporterCounters Counters { get; } = new();

    /// <summary>The last export ran out of budget without reaching upstream (readiness reports it).</summary>
    public bool IsFailing => Volatile.Read(ref _failing) != 0;

    /// <summary>How long one <see cref="ExportAsync"/> may retry: max_elapsed_time, capped at <see cref="MaxCallBudget"/> (0 = no limit = the cap).</summary>
    public TimeSpan CallBudget => _settings.Retry.MaxElapsedTime > TimeSpan.Zero && _settings.Retry.MaxElapsedTime < MaxCallBudget
        ? _settings.Retry.MaxElapsedTime
        : MaxCallBudget;

    internal UpstreamClientPool Clients => _clients;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // No connection is made here: an upstream that is down must not stop this collector from starting.
        string protocol = _settings.Protocol == OtlpExporterProtocol.Grpc ? "OTLP/gRPC" : "OTLP/HTTP";
        string endpoint = _target.BaseUri.ToString();
        if (!_target.UseTls)
        {
            // Every start, not once: a plaintext hop must stay visible in the log.
            ExporterLog.Plaintext(_logger, Id, endpoint);
        }

        string security = !_target.UseTls ? "PLAINTEXT"
            : (_settings.Tls.CertFile is null ? "TLS" : "mutual TLS") + (_settings.Tls.CaFile is null ? ", system roots" : ", CA pinned to ca_file");
        ExporterLog.Started(_logger, Id, protocol, endpoint, security);
        return Task.CompletedTask;
    }

    public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        // The payload buffer goes back to the receiver's pool when this call returns: copy (and compress)
        // it before the first await. The copy lives only as long as this call.
        byte[] body = _wire.PrepareBody(batch.Payload.Span);
        return SendAsync(batch.Signal, batch.ItemCount, body, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        ExporterLog.Stopped(_logger, Id);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _clients.Dispose();
        _consumers.Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask<SinkResult> SendAsync(OtlpSignal signal, int items, byte[] body, CancellationToken cancellationToken)
    {
        string signalName = SignalNames[(int)signal];
        long start = _time.GetTimestamp();
        TimeSpan budget = CallBudget;
        if (!await _consumers.WaitAsync(budget, cancellationToken).ConfigureAwait(false))
        {
            return Unavailable(signalName, items, 0, start, $"all {_settings.Queue.NumConsumers} consumer(s) busy");
        }

        try
        {
            ExponentialBackoff? backoff = null;
            string lastReason = "retry budget exhausted";
            for (int attempt = 1; ; attempt++)
            {
                TimeSpan remaining = budget - _time.GetElapsedTime(start);
                if (remaining <= TimeSpan.Zero)
                {
                    // The wait overshot the budget: report why the previous attempt failed.
                    return Unavailable(signalName, items, attempt - 1, start, lastReason);
                }

                AttemptResult result = await AttemptAsync(signal, body, remaining < _settings.Timeout ? remaining : _settings.Timeout, cancellationToken).ConfigureAwait(false);
                switch (RetryClassifier.Classify(_settings.Protocol, result.Code, result.HasRetryInfo))
                {
                    case RetryDecision.Done:
                        Volatile.Write(ref _failing, 0);
                        if (result.Rejected > 0)
                        {
                            // Partial success is final (OTLP spec): the rejected items would be rejected again.
                            long rejected = Math.Min(result.Rejected, items);
                            ExporterLog.PartialSuccess(_logger, Id, signalName, rejected, result.Reason);
                            Counters.OnFailed(rejected);
                            Counters.OnSent(items - rejected);
                        }
                        else
                        {
                            Counters.OnSent(items);
                        }

                        return SinkResult.Ok;

                    case RetryDecision.Permanent:
                        // Upstream answered: it is up, the request is what it refuses (e.g. 400, 413).
                        Volatile.Write(ref _failing, 0);
                        ExporterLog.Dropped(_logger, Id, signalName, result.Reason, items);
                        Counters.OnFailed(items);
                        return SinkResult.Ok;
                }

                lastReason = result.Reason;
                if (!_settings.Retry.Enabled)
                {
                    return Unavailable(signalName, items, attempt, start, result.Reason);
                }

                backoff ??= new ExponentialBackoff(_settings.Retry, _random);
                TimeSpan delay = backoff.Next(result.ServerDelay);
                if (_time.GetElapsedTime(start) + delay >= budget)
                {
                    return Unavailable(signalName, items, attempt, start, result.Reason);
                }

                Counters.OnRetried(items);
                ExporterLog.Retrying(_logger, Id, signalName, attempt, result.Reason, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _consumers.Release();
        }
    }

    private async Task<AttemptResult> AttemptAsync(OtlpSignal signal, byte[] body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Counters.OnAttempt();
        ClientLease lease = _clients.Acquire();
        using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attemptCts.CancelAfter(timeout);
        try
        {
            using HttpRequestMessage request = _wire.CreateRequest(signal, body, timeout);
            using HttpResponseMessage response = await lease.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token).ConfigureAwait(false);
            return await _wire.ReadAsync(response, signal, attemptCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our per-attempt deadline (DEADLINE_EXCEEDED for gRPC): no answer is retryable.
            return AttemptResult.NoResponse($"no response within {(long)timeout.TotalMilliseconds} ms");
        }
        catch (HttpRequestException ex)
        {
            if (_clients.TakeLastRejection() is { } rejection)
            {
                ExporterLog.ServerCertificateRefused(_logger, Id, rejection);
                return AttemptResult.NoResponse("TLS: " + rejection);
            }

            return AttemptResult.NoResponse(Describe(ex));
        }
        catch (IOException ex)
        {
            return AttemptResult.NoResponse(Describe(ex));
        }
        finally
        {
            lease.Release();
        }
    }

    private SinkResult Unavailable(string signal, int items, int attempts, long start, string reason)
    {
        Volatile.Write(ref _failing, 1);
        Counters.OnFailed(items);
        ExporterLog.UpstreamUnavailable(_logger, Id, signal, attempts, (long)_time.GetElapsedTime(start).TotalMilliseconds, reason);
        return SinkResult.Refuse(ClientRetryAfter, UnavailableReason);
    }

    private static string Describe(Exception ex)
    {
        // "An error occurred while sending the request" alone says nothing; the inner exception has the cause.
        string message = ex.Message;
        for (Exception? inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += ": " + inner.Message;
        }

        return UpstreamStatus.Truncate(message);
    }
}
