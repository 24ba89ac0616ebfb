using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp.Queue;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// The <c>otlp</c> (OTLP/gRPC) and <c>otlphttp</c> exporters: forward each validated request upstream as-is,
/// over TLS with a pinned CA (mutual TLS with cert_file/key_file), retrying per the OTLP specification.
/// <para>
/// With `sending_queue::directory` (the sealed queue, README.md, docs/format.md §13): <see cref="ExportAsync"/>
/// seals the request to the exporter's queue key, fsyncs it and acknowledges; a <see cref="QueueSender"/>
/// forwards in the background and retries with backoff for as long as the queue holds the data, merging
/// consecutive records of one signal into one request by the pipelines' `batch` settings (README.md, Batching).
/// Clients are pushed back (retryable) only when the backlog reaches `max_backlog_bytes`.
/// </para>
/// <para>
/// Without it (interim acknowledgement): the client's request is acknowledged only after upstream accepted it.
/// <see cref="ExportAsync"/> retries within a per-call budget (the smaller of max_elapsed_time and
/// <see cref="MaxCallBudget"/>); when that runs out the batch is handed back to the client as a retryable refusal
/// (<see cref="ClientRetryAfter"/>). Nothing is queued: no buffer exists, in memory beyond the requests in
/// flight or on disk.
/// </para>
/// </summary>
internal sealed class OtlpForwardingExporter : IExporter
{
    /// <summary>A client request cannot wait longer than this for upstream (SDK export timeouts are ~10–30 s).</summary>
    internal static readonly TimeSpan MaxCallBudget = TimeSpan.FromSeconds(30);

    /// <summary>What the client is told when upstream stayed unavailable for the whole budget.</summary>
    internal static readonly TimeSpan ClientRetryAfter = TimeSpan.FromSeconds(5);

    internal const string UnavailableReason = "upstream unavailable";

    internal const string QueueFullReason = "sending queue full";

    private static readonly string[] SignalNames = ["traces", "metrics", "logs"];

    private readonly OtlpExporterSettings _settings;
    private readonly OtlpTarget _target;
    private readonly ExportWire _wire;
    private readonly UpstreamClientPool _clients;
    private readonly SemaphoreSlim _consumers;
    private readonly int _consumerCount;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly QueueKey? _queueKey;
    private readonly QueueBatching? _batching;
    private readonly System.Collections.Concurrent.ConcurrentBag<ISenderLog> _walFeeds = [];
    private QueueLog? _queue;
    private QueueSender? _sender;
    private long _outageStart;
    private int _failing;

    /// <summary>Validates the endpoint (plaintext only with http:// and insecure) and loads the TLS files; throws <see cref="InvalidOperationException"/> naming the key.</summary>
    /// <param name="batch">
    /// The `batch` settings of the pipelines feeding this exporter (ComponentFactory.BatchFor): with the sealed queue,
    /// its sender merges consecutive queued records of one signal into requests of up to send_batch_size items.
    /// Null = one request per record. Without the queue it does not apply (the client waits for upstream).
    /// </param>
    public OtlpForwardingExporter(string id, OtlpExporterSettings settings, ILogger logger, TimeProvider? time = null, Func<double>? random = null, BatchSettings? batch = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        Id = id;
        _settings = settings;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared.NextDouble;
        _batching = QueueBatching.From(batch);
        _target = OtlpTarget.Parse(id, settings);
        var headers = new OtlpExporterHeaders(id, settings.Headers);
        bool gzip = string.Equals(settings.Compression, "gzip", StringComparison.Ordinal);
        _wire = settings.Protocol == OtlpExporterProtocol.Grpc
            ? new GrpcExportWire(_target, headers, gzip)
            : new HttpExportWire(_target, headers, gzip, _time);
        _clients = new UpstreamClientPool(id, _target, settings.Tls, settings.Timeout, logger);

        // num_consumers bounds the requests in flight upstream, as upstream's sending queue consumers do: the client
        // calls without the queue, or the queue's (and the WAL tenants') senders together, each with a window of that many.
        _consumerCount = Math.Max(1, settings.Queue.NumConsumers);
        _consumers = new SemaphoreSlim(_consumerCount, _consumerCount);

        if (settings.Queue.IsSealedQueue)
        {
            // Loaded (or created) here, so that a bad key fails the start with the config's name for it.
            try
            {
                _queueKey = QueueKey.LoadOrCreate(settings.Queue.QueueKeyFile!);
            }
            catch (InvalidOperationException ex)
            {
                throw new InvalidOperationException($"exporters::{id}::sending_queue::queue_key_file: {ex.Message}", ex);
            }

            if (_queueKey.Created)
            {
                ExporterLog.QueueKeyCreated(logger, id, settings.Queue.QueueKeyFile!);
            }
        }
    }

    /// <summary>For the component factory: construction errors are prefixed with the config file, as loader errors are.</summary>
    public static OtlpForwardingExporter Create(string id, OtlpExporterSettings settings, string configPath, ILogger logger, BatchSettings? batch = null)
    {
        try
        {
            return new OtlpForwardingExporter(id, settings, logger, batch: batch);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{configPath}: {ex.Message}", ex);
        }
    }

    public string Id { get; }

    public ExporterCounters Counters { get; } = new();

    /// <summary>Bytes in the sealed queue (or, reading a sealed store's WAL, in its tenants' WAL) not yet forwarded.</summary>
    public long QueueBacklogBytes => (_queue?.BacklogBytes ?? 0) + _walFeeds.Sum(f => f.BacklogBytes);

    /// <summary>Reading a sealed store's WAL: the tenants it forwards (one feed each), whose backlogs <see cref="QueueBacklogBytes"/> sums.</summary>
    public int WalTenants => _walFeeds.Count;

    /// <summary>The sealed store whose WAL this exporter forwards from (<see cref="ReadWal"/>), or null.</summary>
    public string? ReadsWalOf { get; private set; }

    private string _readsWalFor = "";

    /// <summary>
    /// Makes this exporter a consumer of a sealed store's WAL (docs/architecture.md): every request of its pipelines is in
    /// that WAL (Hosting/WalForwarding.Reads), so the pipelines no longer call <see cref="ExportAsync"/>; the store acknowledges once the
    /// request is sealed and fsync'd in its WAL, and this exporter forwards from there, one sender per tenant with a
    /// cursor of its own. Its key opens the segments' key headers: the sending queue's key when one is configured,
    /// else <c>STORE.forward.key</c> next to the store's directory (created 0600 on first start).
    /// </summary>
    /// <param name="signals">The signals of its pipelines when they are not all of the store's (null: all); they decide for version 1 records (WalConsumer).</param>
    /// <param name="pipelines">Its pipelines, for the start log line.</param>
    public Storage.Wal.WalConsumer ReadWal(string storeId, string storeRoot, IReadOnlySet<OtlpSignal>? signals = null, string? pipelines = null)
    {
        string keyFile = _settings.Queue.QueueKeyFile ?? Path.TrimEndingDirectorySeparator(storeRoot) + ".forward.key";
        QueueKey key;
        try
        {
            key = _queueKey ?? QueueKey.LoadOrCreate(keyFile);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"exporters::{Id}: the key it reads the WAL of {storeId} with: {ex.Message}", ex);
        }

        if (key.Created)
        {
            ExporterLog.QueueKeyCreated(_logger, Id, keyFile);
        }

        ReadsWalOf = storeId;
        _readsWalFor = pipelines ?? "all of the store's";
        return new Storage.Wal.WalConsumer(Id, key, log =>
        {
            _walFeeds.Add(log);
            return new QueueSender(log, DeliverFromWalAsync, Counters, _logger, Id, _batching, _consumerCount, _consumers);
        }, Counters, signals);
    }

    /// <summary>The sealed queue is configured.</summary>
    public bool HasQueue => _queueKey is not null;

    /// <summary>
    /// Readiness reports it. Without the queue: the last export ran out of budget without reaching upstream.
    /// With it: the queue is full and refuses clients (an outage alone is not a failure while the queue absorbs it).
    /// </summary>
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
        if (ReadsWalOf is not null)
        {
            ExporterLog.ReadsWal(_logger, Id, ReadsWalOf, _readsWalFor);
        }

        if (_queueKey is not null && _queue is null)
        {
            _queue = QueueLog.Open(_settings.Queue.Directory!, Id, _queueKey, _settings.Queue.MaxBacklogBytes, _logger, Id);
            ExporterLog.QueueOpened(_logger, Id, _queue.Directory, _queueKey.Recipient.KeyId, _queue.BacklogBytes);
            _sender = new QueueSender(_queue, DeliverQueuedAsync, Counters, _logger, Id, _batching, _consumerCount, _consumers);
            _sender.Start();
        }

        return Task.CompletedTask;
    }

    public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        if (_queueKey is not null)
        {
            return EnqueueAsync(batch);
        }

        // The payload buffer goes back to the receiver's pool when this call returns: copy (and compress)
        // it before the first await. The copy lives only as long as this call.
        byte[] body = _wire.PrepareBody(batch.Payload.Span);
        return SendAsync(batch.Signal, batch.ItemCount, body, cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await StopQueueAsync().ConfigureAwait(false);
        ExporterLog.Stopped(_logger, Id);
    }

    public async ValueTask DisposeAsync()
    {
        await StopQueueAsync().ConfigureAwait(false);
        if (_queue is not null)
        {
            await _queue.DisposeAsync().ConfigureAwait(false);
        }

        _clients.Dispose();
        _consumers.Dispose();
    }

    /// <summary>Commits what was handed in (new requests are refused), then stops the sender; unsent records wait on disk.</summary>
    private async Task StopQueueAsync()
    {
        if (_queue is not null)
        {
            await _queue.StopAsync().ConfigureAwait(false);
        }

        if (_sender is not null)
        {
            await _sender.StopAsync().ConfigureAwait(false);
        }
    }

    private ValueTask<SinkResult> EnqueueAsync(ReceivedBatch batch)
    {
        if (_queue is null)
        {
            return ValueTask.FromResult(SinkResult.Refuse(ClientRetryAfter, "sending queue not started"));
        }

        // AppendAsync copies the payload before it first yields, as the receiver's buffer requires.
        ValueTask<SinkResult> pending = _queue.AppendAsync(batch);
        return Acknowledge(pending, batch.ItemCount);

        async ValueTask<SinkResult> Acknowledge(ValueTask<SinkResult> append, int items)
        {
            SinkResult result = await append.ConfigureAwait(false);
            if (result.Accepted)
            {
                Counters.OnQueued(items);
                Volatile.Write(ref _failing, 0);
            }
            else
            {
                Counters.OnFailed(items);
                if (string.Equals(result.Reason, QueueFullReason, StringComparison.Ordinal) && Interlocked.Exchange(ref _failing, 1) == 0)
                {
                    // Once per episode: every refused request would flood the log.
                    ExporterLog.QueueFull(_logger, Id, _queue.BacklogBytes, _queue.MaxBacklogBytes);
                }
            }

            return result;
        }
    }

    /// <summary>
    /// The sender's delivery of one request (one queued record, or <paramref name="records"/> merged): retries with
    /// backoff (up to max_interval) until upstream accepts or refuses permanently. max_elapsed_time does not apply:
    /// giving up would drop acknowledged data that the queue still holds; the backlog limit bounds the outage instead.
    /// A merged request refused permanently returns false, uncounted: the sender resends its records one by one.
    /// </summary>
    private Task<bool> DeliverQueuedAsync(OtlpSignal signal, ReadOnlyMemory<byte> payload, int items, int records, CancellationToken stop) =>
        DeliverAsync(signal, payload, items, records, pipelineCounts: null, stop);

    /// <summary>
    /// Reading a sealed store's WAL the pipelines never call this exporter, so what upstream's exporterhelper counts
    /// after its queue is counted here, by outcome upstream: otelcol_exporter_sent_* (accepted) and
    /// otelcol_exporter_send_failed_* (refused permanently or rejected by partial success; nothing else is dropped).
    /// </summary>
    private Task<bool> DeliverFromWalAsync(OtlpSignal signal, ReadOnlyMemory<byte> payload, int items, int records, CancellationToken stop) =>
        DeliverAsync(signal, payload, items, records, Telemetry.PipelineStats.For(this), stop);

    private async Task<bool> DeliverAsync(OtlpSignal signal, ReadOnlyMemory<byte> payload, int items, int records, Telemetry.SignalCounts? pipelineCounts, CancellationToken stop)
    {
        string signalName = SignalNames[(int)signal];
        byte[] body = _wire.PrepareBody(payload.Span);
        ExponentialBackoff? backoff = null;
        for (int attempt = 1; ; attempt++)
        {
            AttemptResult result = await AttemptAsync(signal, body, _settings.Timeout, stop).ConfigureAwait(false);
            switch (RetryClassifier.Classify(_settings.Protocol, result.Code, result.HasRetryInfo))
            {
                case RetryDecision.Done:
                    long since = Interlocked.Exchange(ref _outageStart, 0);
                    if (since != 0)
                    {
                        ExporterLog.QueueUpstreamBack(_logger, Id, (long)_time.GetElapsedTime(since).TotalMilliseconds, QueueBacklogBytes);
                    }

                    CountDone(signalName, items, result, signal, pipelineCounts);
                    return true;

                case RetryDecision.Permanent:
                    if (records > 1)
                    {
                        // One of the merged records (or their sum: 413) is what upstream refuses: find out one by one.
                        ExporterLog.MergedRequestRefused(_logger, Id, signalName, records, result.Reason);
                        return false;
                    }

                    // Upstream answered: the record is what it refuses (400, 413); resending cannot help.
                    ExporterLog.Dropped(_logger, Id, signalName, result.Reason, items);
                    Counters.OnFailed(items);
                    pipelineCounts?.Add(signal, items, ok: false);
                    return true;
            }

            if (Interlocked.CompareExchange(ref _outageStart, _time.GetTimestamp(), 0) == 0)
            {
                ExporterLog.QueueUpstreamDown(_logger, Id, result.Reason, QueueBacklogBytes);
            }

            backoff ??= new ExponentialBackoff(_settings.Retry, _random);
            TimeSpan delay = backoff.Next(result.ServerDelay);
            Counters.OnRetried(items);
            ExporterLog.Retrying(_logger, Id, signalName, attempt, result.Reason, (long)delay.TotalMilliseconds);
            await Task.Delay(delay, _time, stop).ConfigureAwait(false);
        }
    }

    /// <param name="pipelineCounts">Reading a sealed store's WAL: the otelcol_exporter_* counts (see <see cref="DeliverFromWalAsync"/>).</param>
    private void CountDone(string signalName, int items, AttemptResult result, OtlpSignal signal = default, Telemetry.SignalCounts? pipelineCounts = null)
    {
        if (result.Rejected > 0)
        {
            // Partial success is final (OTLP spec): the rejected items would be rejected again.
            int rejected = (int)Math.Min(result.Rejected, items);
            ExporterLog.PartialSuccess(_logger, Id, signalName, rejected, result.Reason);
            Counters.OnFailed(rejected);
            Counters.OnSent(items - rejected);
            pipelineCounts?.Add(signal, rejected, ok: false);
            pipelineCounts?.Add(signal, items - rejected, ok: true);
        }
        else
        {
            Counters.OnSent(items);
            pipelineCounts?.Add(signal, items, ok: true);
        }
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
                        CountDone(signalName, items, result);
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
