using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tls;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Telemetry;

/// <summary>A receiver with the settings it was built from (which protocols it serves, which use TLS).</summary>
internal sealed record ReceiverView(OtlpReceiverSettings Settings, OtlpReceiver Receiver)
{
    /// <summary>
    /// The protocol label of counters. <see cref="ReceiverCounters"/> counts per receiver, not per protocol, so a
    /// receiver serving both reports <c>all</c>; the certificate expiry gauge is per listener (grpc / http).
    /// </summary>
    public string CounterProtocol => Settings is { Grpc: not null, Http: not null } ? "all" : Settings.Grpc is not null ? "grpc" : "http";
}

/// <summary>
/// Reads the collector's counters into Prometheus text and decides readiness. Reads only counters and
/// certificate dates: nothing of the telemetry itself (no tenants' data, no attributes) is ever exposed.
/// </summary>
/// <param name="limiters">The `memory_limiter` instances; their state is a gauge and refusing makes the collector not ready.</param>
/// <param name="admission">The in-flight byte budget; a recent refusal makes the collector not ready.</param>
internal sealed class CollectorMetrics(
    IReadOnlyList<ReceiverView> receivers,
    IReadOnlyDictionary<string, IExporter> exporters,
    TimeProvider time,
    IReadOnlyList<MemoryLimiterProcessor>? limiters = null,
    AdmissionBudget? admission = null)
{
    private static readonly string[] SignalNames = ["traces", "metrics", "logs"];

    private static readonly ReceiveFailure[] Failures = Enum.GetValues<ReceiveFailure>();

    private static readonly HandshakeFailure[] Handshakes = Enum.GetValues<HandshakeFailure>();

    private static readonly ConnectionRefusal[] ConnectionRefusalValues = Enum.GetValues<ConnectionRefusal>();

    private const long Mib = 1024 * 1024;

    public string Render()
    {
        var text = new PrometheusText();
        WriteReceivers(text);
        WriteAdmission(text);
        WriteExporters(text);
        WriteUpstreamCompatible(text);
        return text.ToString();
    }

    /// <summary>
    /// Ready when every configured listener is bound, no exporter is failing, no memory_limiter is refusing and the
    /// admission budget refused nothing within <see cref="AdmissionBudget.ReadinessWindow"/>; otherwise why not.
    /// </summary>
    public bool IsReady(out string reason)
    {
        foreach (ReceiverView view in receivers)
        {
            if ((view.Settings.Grpc is not null && view.Receiver.GrpcEndpoint is null) || (view.Settings.Http is not null && view.Receiver.HttpEndpoint is null))
            {
                reason = $"receiver {view.Settings.Name} is not listening";
                return false;
            }
        }

        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is OtlpForwardingExporter { IsFailing: true })
            {
                reason = $"exporter {exporter.Id} is failing: {OtlpForwardingExporter.UnavailableReason}";
                return false;
            }

            if (exporter is Storage.SealedStoreExporter { IsFailing: true })
            {
                reason = $"exporter {exporter.Id} is failing: writing the sealed WAL or cutting a block fails (disk full or unwritable?)";
                return false;
            }

            if (exporter is Storage.SealedStoreExporter { BacklogRefusedRecently: true })
            {
                reason = $"exporter {exporter.Id} is refusing data: the sealed WAL backlog reached wal::max_backlog_bytes (blocks not cut or not uploaded yet)";
                return false;
            }
        }

        foreach (MemoryLimiterProcessor limiter in limiters ?? [])
        {
            if (limiter.IsRefusing)
            {
                reason = $"processor {limiter.Id} is refusing data: managed heap in use {limiter.UsageBytes / Mib} MiB is above its soft limit of {limiter.SoftLimitBytes / Mib} MiB";
                return false;
            }
        }

        if (admission is { RefusedRecently: true })
        {
            reason = $"admission is refusing requests: the in-flight byte budget of {admission.CapacityBytes / Mib} MiB was full within the last {AdmissionBudget.ReadinessWindow.TotalSeconds:0} s ({admission.InFlightBytes / Mib} MiB in flight now)";
            return false;
        }

        reason = "ready";
        return true;
    }

    private void WriteReceivers(PrometheusText text)
    {
        text.Family("traceseal_receiver_requests_total", "counter", "OTLP export requests by outcome (accepted: acknowledged to the client; refused: any refusal).");
        foreach (ReceiverView view in receivers)
        {
            ReceiverCounters c = view.Receiver.Counters;
            long refused = 0;
            foreach (ReceiveFailure failure in Failures)
            {
                refused += c.Refused(failure);
            }

            text.Sample("traceseal_receiver_requests_total", c.RequestsAccepted, "receiver", view.Settings.Name, "protocol", view.CounterProtocol, "outcome", "accepted");
            text.Sample("traceseal_receiver_requests_total", refused, "receiver", view.Settings.Name, "protocol", view.CounterProtocol, "outcome", "refused");
        }

        text.Family("traceseal_receiver_items_accepted_total", "counter", "Spans, data points and log records acknowledged to clients.");
        foreach (ReceiverView view in receivers)
        {
            text.Sample("traceseal_receiver_items_accepted_total", view.Receiver.Counters.ItemsAccepted, "receiver", view.Settings.Name, "protocol", view.CounterProtocol);
        }

        text.Family("traceseal_receiver_tenant_items_accepted_total", "counter", "Items acknowledged per tenant (from the identity rules).");
        foreach (ReceiverView view in receivers)
        {
            foreach (var (tenant, items) in view.Receiver.Counters.ItemsAcceptedByTenant)
            {
                text.Sample("traceseal_receiver_tenant_items_accepted_total", items, "receiver", view.Settings.Name, "tenant", tenant);
            }
        }

        text.Family("traceseal_receiver_refused_total", "counter", "Refused requests by reason (the status table's labels).");
        foreach (ReceiverView view in receivers)
        {
            foreach (ReceiveFailure failure in Failures)
            {
                text.Sample("traceseal_receiver_refused_total", view.Receiver.Counters.Refused(failure), "receiver", view.Settings.Name, "protocol", view.CounterProtocol, "reason", OtlpStatusTable.Get(failure).Label);
            }
        }

        text.Family("traceseal_receiver_connections_closed_total", "counter", "Connections the receiver's guards closed, by reason (limits::max_connections, max_connections_per_address, idle_timeout, an HTTP/2 PING/SETTINGS flood).");
        foreach (ReceiverView view in receivers)
        {
            foreach (ConnectionRefusal refusal in ConnectionRefusalValues)
            {
                text.Sample("traceseal_receiver_connections_closed_total", view.Receiver.Counters.ConnectionsRefused(refusal), "receiver", view.Settings.Name, "protocol", view.CounterProtocol, "reason", ConnectionRefusals.Label(refusal));
            }
        }

        text.Family("traceseal_receiver_requests_failed_total", "counter", "Requests that failed inside the collector (answered 500 / INTERNAL; logged at most once a minute).");
        foreach (ReceiverView view in receivers)
        {
            text.Sample("traceseal_receiver_requests_failed_total", view.Receiver.Counters.RequestsFailed, "receiver", view.Settings.Name, "protocol", view.CounterProtocol);
        }

        text.Family("traceseal_tls_handshake_failures_total", "counter", "TLS handshakes refused, by reason.");
        foreach (ReceiverView view in receivers)
        {
            foreach (HandshakeFailure failure in Handshakes)
            {
                text.Sample("traceseal_tls_handshake_failures_total", view.Receiver.Counters.HandshakeFailed(failure), "receiver", view.Settings.Name, "protocol", view.CounterProtocol, "reason", HandshakeFailures.Label(failure));
            }
        }

        text.Family("traceseal_tls_certificate_expiry_seconds", "gauge", "Seconds until the server certificate in use expires (negative: expired).");
        DateTimeOffset now = time.GetUtcNow();
        foreach (ReceiverView view in receivers)
        {
            // TlsReloaders lists the TLS listeners, grpc first; plaintext listeners have none.
            IReadOnlyList<CertificateReloader> reloaders = view.Receiver.TlsReloaders;
            int next = 0;
            foreach ((string protocol, OtlpProtocolSettings? settings) in (ReadOnlySpan<(string, OtlpProtocolSettings?)>)[("grpc", view.Settings.Grpc), ("http", view.Settings.Http)])
            {
                if (settings?.Tls is null || next >= reloaders.Count)
                {
                    continue;
                }

                DateTimeOffset notAfter = new(reloaders[next++].Current.ServerCertificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
                text.Sample("traceseal_tls_certificate_expiry_seconds", Math.Floor((notAfter - now).TotalSeconds), "receiver", view.Settings.Name, "protocol", protocol);
            }
        }
    }

    private void WriteAdmission(PrometheusText text)
    {
        text.Family("traceseal_memory_limiter_refusing", "gauge", "1 while the memory_limiter refuses data (managed heap in use above its soft limit), else 0.");
        foreach (MemoryLimiterProcessor limiter in limiters ?? [])
        {
            text.Sample("traceseal_memory_limiter_refusing", limiter.IsRefusing ? 1 : 0, "processor", limiter.Id);
        }

        text.Family("traceseal_memory_limiter_usage_bytes", "gauge", "Managed heap in use at the memory_limiter's last check (after any collection it forced).");
        foreach (MemoryLimiterProcessor limiter in limiters ?? [])
        {
            text.Sample("traceseal_memory_limiter_usage_bytes", limiter.UsageBytes, "processor", limiter.Id);
        }

        text.Family("traceseal_memory_limiter_limit_bytes", "gauge", "The memory_limiter's limits: soft (refuses above it) and hard (forces an aggressive collection above it).");
        foreach (MemoryLimiterProcessor limiter in limiters ?? [])
        {
            text.Sample("traceseal_memory_limiter_limit_bytes", limiter.SoftLimitBytes, "processor", limiter.Id, "limit", "soft");
            text.Sample("traceseal_memory_limiter_limit_bytes", limiter.HardLimitBytes, "processor", limiter.Id, "limit", "hard");
        }

        text.Family("traceseal_memory_limiter_refused_total", "counter", "Batches the memory_limiter refused (the client was told to retry).");
        foreach (MemoryLimiterProcessor limiter in limiters ?? [])
        {
            text.Sample("traceseal_memory_limiter_refused_total", limiter.RefusedBatches, "processor", limiter.Id);
        }

        text.Family("traceseal_memory_limiter_forced_gc_total", "counter", "Collections the memory_limiter forced (above its soft or hard limit).");
        foreach (MemoryLimiterProcessor limiter in limiters ?? [])
        {
            text.Sample("traceseal_memory_limiter_forced_gc_total", limiter.ForcedCollections, "processor", limiter.Id);
        }

        if (admission is null)
        {
            return;
        }

        text.Family("traceseal_admission_inflight_bytes", "gauge", "Request bytes held by receivers now (bodies, inflated and transcoded copies), shared budget of all receivers.");
        text.Sample("traceseal_admission_inflight_bytes", admission.InFlightBytes);
        text.Family("traceseal_admission_capacity_bytes", "gauge", "The in-flight byte budget (service::admission::max_in_flight_bytes or its default).");
        text.Sample("traceseal_admission_capacity_bytes", admission.CapacityBytes);
        text.Family("traceseal_admission_refused_total", "counter", "Requests refused because the in-flight byte budget was full (retryable).");
        text.Sample("traceseal_admission_refused_total", admission.Refused);
    }

    private void WriteExporters(PrometheusText text)
    {
        text.Family("traceseal_exporter_items_total", "counter", "Items forwarded upstream by outcome (sent, failed, retried; queued and replayed with a sealed sending queue).");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is OtlpForwardingExporter forwarding)
            {
                ExporterCounters c = forwarding.Counters;
                text.Sample("traceseal_exporter_items_total", c.Sent, "exporter", exporter.Id, "outcome", "sent");
                text.Sample("traceseal_exporter_items_total", c.Failed, "exporter", exporter.Id, "outcome", "failed");
                text.Sample("traceseal_exporter_items_total", c.Retried, "exporter", exporter.Id, "outcome", "retried");
                text.Sample("traceseal_exporter_items_total", c.Queued, "exporter", exporter.Id, "outcome", "queued");
                text.Sample("traceseal_exporter_items_total", c.Replayed, "exporter", exporter.Id, "outcome", "replayed");
            }
        }

        text.Family("traceseal_exporter_queue_backlog_bytes", "gauge", "Sealed sending-queue bytes not yet accepted upstream.");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is OtlpForwardingExporter forwarding)
            {
                text.Sample("traceseal_exporter_queue_backlog_bytes", forwarding.QueueBacklogBytes, "exporter", exporter.Id);
            }
        }

        text.Family("traceseal_exporter_wal_segments_lost_total", "counter", "WAL segments a forwarder reading a sealed_store's WAL had not passed that were gone at start (removed outside the collector): their data was not forwarded.");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is OtlpForwardingExporter { ReadsWalOf: not null } forwarding)
            {
                text.Sample("traceseal_exporter_wal_segments_lost_total", forwarding.Counters.LostSegments, "exporter", exporter.Id);
            }
        }

        text.Family("traceseal_wal_backlog_bytes", "gauge", "Sealed WAL bytes not yet cut into a block, per sealed_store exporter and tenant.");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is Storage.SealedStoreExporter store)
            {
                foreach (var (tenant, bytes) in store.WalBacklogBytesByTenant)
                {
                    text.Sample("traceseal_wal_backlog_bytes", bytes, "exporter", exporter.Id, "tenant", tenant);
                }
            }
        }

        // Requests per group commit = the two counters' ratio: what one fsync'd write is shared by (docs/operations.md).
        text.Family("traceseal_wal_frames_total", "counter", "Sealed WAL frames written and fsync'd (group commits), per sealed_store exporter, over all tenants.");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is Storage.SealedStoreExporter store)
            {
                text.Sample("traceseal_wal_frames_total", store.FramesWritten, "exporter", exporter.Id);
            }
        }

        text.Family("traceseal_wal_requests_total", "counter", "Requests acknowledged by a sealed_store exporter after their frame was fsync'd, over all tenants.");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is Storage.SealedStoreExporter store)
            {
                text.Sample("traceseal_wal_requests_total", store.RequestsCommitted, "exporter", exporter.Id);
            }
        }

        text.Family("traceseal_discard_items_total", "counter", "Items dropped on purpose by discard exporters.");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is DiscardExporter discard)
            {
                foreach (OtlpSignal signal in (ReadOnlySpan<OtlpSignal>)[OtlpSignal.Traces, OtlpSignal.Metrics, OtlpSignal.Logs])
                {
                    text.Sample("traceseal_discard_items_total", discard.Items(signal), "exporter", exporter.Id, "signal", SignalNames[(int)signal]);
                }
            }
        }
    }

    /// <summary>
    /// Upstream's own self-metric names (receiverhelper, exporterhelper; "basic" level), next to TraceSeal's, so
    /// dashboards and alerts written for the Collector work unchanged. Names as upstream's default Prometheus
    /// endpoint prints them (no `_total`; a Prometheus reader configured by hand adds it upstream since v0.119).
    /// Receivers count what the pipelines accepted or refused after the request was decoded (as upstream: refusals
    /// before that, by TLS, identity, admission or validation, are in traceseal_receiver_refused_total by reason).
    /// Exporters count what each exporter took (sealed_store: sealed and fsync'd; otlp with the sealed queue:
    /// sealed into the queue, whose upstream outcome is traceseal_exporter_items_total; otlp reading a sealed_store's
    /// WAL, which the pipelines never call: what upstream accepted, or refused for good, as exporterhelper counts
    /// behind its queue). Queue size and capacity
    /// are bytes (upstream's `sizer: bytes`): the sealed sending queue's backlog, or a sealed_store's WAL backlog.
    /// </summary>
    private void WriteUpstreamCompatible(PrometheusText text)
    {
        foreach (var (signal, unit) in UpstreamUnits)
        {
            foreach (var (name, ok, help) in (ReadOnlySpan<(string, bool, string)>)[
                ($"otelcol_receiver_accepted_{unit}", true, $"Number of {unit.Replace('_', ' ')} successfully pushed into the pipeline."),
                ($"otelcol_receiver_refused_{unit}", false, $"Number of {unit.Replace('_', ' ')} that could not be pushed into the pipeline.")])
            {
                text.Family(name, "counter", help);
                foreach (ReceiverView view in receivers)
                {
                    foreach (var (protocol, transport) in (ReadOnlySpan<(OtlpProtocolSettings?, string)>)[(view.Settings.Grpc, "grpc"), (view.Settings.Http, "http")])
                    {
                        if (protocol is not null)
                        {
                            SignalCounts counts = PipelineStats.For(protocol);
                            text.Sample(name, ok ? counts.Ok(signal) : counts.Failed(signal), "receiver", view.Settings.Name, "transport", transport);
                        }
                    }
                }
            }
        }

        foreach (var (signal, unit) in UpstreamUnits)
        {
            foreach (var (name, ok, help) in (ReadOnlySpan<(string, bool, string)>)[
                ($"otelcol_exporter_sent_{unit}", true, $"Number of {unit.Replace('_', ' ')} successfully sent to destination."),
                ($"otelcol_exporter_send_failed_{unit}", false, $"Number of {unit.Replace('_', ' ')} in failed attempts to send to destination.")])
            {
                text.Family(name, "counter", help);
                foreach (IExporter exporter in exporters.Values)
                {
                    SignalCounts counts = PipelineStats.For(exporter);
                    text.Sample(name, ok ? counts.Ok(signal) : counts.Failed(signal), "exporter", exporter.Id);
                }
            }
        }

        text.Family("otelcol_exporter_queue_size", "gauge", "Current size of the retry queue (bytes: the sealed sending queue's or WAL's backlog).");
        foreach (IExporter exporter in exporters.Values)
        {
            if (PipelineStats.QueueCapacity(exporter) is not null)
            {
                text.Sample("otelcol_exporter_queue_size", QueueBytes(exporter), "exporter", exporter.Id);
            }
        }

        text.Family("otelcol_exporter_queue_capacity", "gauge", "Fixed capacity of the retry queue (bytes: max_backlog_bytes, per tenant of a WAL summed like the size).");
        foreach (IExporter exporter in exporters.Values)
        {
            if (PipelineStats.QueueCapacity(exporter) is { } capacity)
            {
                text.Sample("otelcol_exporter_queue_capacity", capacity * QueueLogs(exporter), "exporter", exporter.Id);
            }
        }

        text.Family("traceseal_wal_write_duration_seconds", "histogram", "From handing a batch to a sealed_store until it is sealed, written and fsync'd (group-commit wait included): the storage write latency an acknowledgement waits for.");
        foreach (IExporter exporter in exporters.Values)
        {
            if (exporter is Storage.SealedStoreExporter)
            {
                PipelineStats.LatencyOf(exporter).Write(text, "traceseal_wal_write_duration_seconds", "exporter", exporter.Id);
            }
        }
    }

    private static readonly (OtlpSignal Signal, string Unit)[] UpstreamUnits =
        [(OtlpSignal.Traces, "spans"), (OtlpSignal.Metrics, "metric_points"), (OtlpSignal.Logs, "log_records")];

    private static long QueueBytes(IExporter exporter) => exporter switch
    {
        OtlpForwardingExporter forwarding => forwarding.QueueBacklogBytes,
        Storage.SealedStoreExporter store => store.WalBacklogBytesByTenant.Sum(t => t.Value),
        _ => 0,
    };

    /// <summary>
    /// Over how many backlogs <see cref="QueueBytes"/> sums, each bounded by the capacity set (`wal::max_backlog_bytes`
    /// bounds each tenant's WAL, for the store and for each forwarder reading it): the tenants with a WAL, at least one,
    /// so that size and capacity are in the same unit (docs/operations.md). A sending queue is one backlog.
    /// </summary>
    private static int QueueLogs(IExporter exporter) => Math.Max(1, exporter switch
    {
        OtlpForwardingExporter { ReadsWalOf: not null } forwarding => forwarding.WalTenants,
        Storage.SealedStoreExporter store => store.WalBacklogBytesByTenant.Count(),
        _ => 1,
    });
}
