using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Identity;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Receivers;

/// <summary>The outcome of one export: success, or a failure with a client-facing message (never payload contents).</summary>
internal readonly record struct ExportOutcome(ReceiveFailure? Failure, string? Message, TimeSpan RetryAfter)
{
    public static ExportOutcome Ok => default;

    public static ExportOutcome Fail(ReceiveFailure failure, string message, TimeSpan retryAfter = default) => new(failure, message, retryAfter);
}

/// <summary>The protocol-independent end of a request: validate, hand to the sink, count.</summary>
internal static class ExportProcessor
{
    /// <summary>Asked of clients when the sink throws instead of refusing.</summary>
    private static readonly TimeSpan SinkFailureRetryDelay = TimeSpan.FromSeconds(1);

    /// <param name="protobuf">Decompressed protobuf request; pooled, valid only during the call.</param>
    public static async ValueTask<ExportOutcome> ExportAsync(ProtocolListener listener, OtlpSignal signal, ReadOnlyMemory<byte> protobuf, TenantDecision decision, CancellationToken cancellationToken)
    {
        // An empty request is a valid request with nothing in it (OTLP spec); the sink has nothing to store.
        if (protobuf.IsEmpty)
        {
            listener.Counters.OnAccepted(0);
            return ExportOutcome.Ok;
        }

        // The one pass over the request: validation, and (traces) the index entries a store needs.
        RequestIndex? index = null;
        OtlpSummary summary;
        OtlpError error;
        bool valid;
        if (signal == OtlpSignal.Traces)
        {
            index = RequestIndex.Rent();
            var visitor = index.CreateVisitor();
            valid = OtlpValidator.TryValidate(protobuf.Span, signal, ref visitor, out summary, out error);
        }
        else
        {
            valid = OtlpValidator.TryValidate(protobuf.Span, signal, out summary, out error);
        }

        if (!valid)
        {
            RequestIndex.Return(index);
            return ExportOutcome.Fail(ReceiveFailure.MalformedPayload, error.Message);
        }

        // The tenant's quota is charged what it costs to validate and store: decompressed bytes and items. A bucket
        // this takes into debt refuses the tenant's next requests until it is paid (TenantQuotas).
        listener.Guards.Quotas.Charge(decision.Tenant, protobuf.Length, summary.ItemCount);

        var batch = new ReceivedBatch
        {
            Signal = signal,
            Payload = protobuf,
            ItemCount = summary.ItemCount,
            Tenant = decision.Tenant,
            Identity = decision.Identity,
            Receiver = listener.Receiver,
            Index = index,
        };

        SinkResult result;
        try
        {
            result = await listener.Sink.AcceptAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            ReceiverLog.SinkFailed(listener.Logger, ex, listener.Receiver, SignalName(signal), decision.Tenant);
            return ExportOutcome.Fail(ReceiveFailure.SinkFailed, "the collector could not store the request; retry later", SinkFailureRetryDelay);
        }
        finally
        {
            RequestIndex.Return(index);
        }

        if (!result.Accepted && !result.Retryable)
        {
            return ExportOutcome.Fail(ReceiveFailure.SignalNotServed, result.Reason ?? "this signal is not served here", TimeSpan.Zero);
        }

        if (!result.Accepted)
        {
            ReceiverLog.SinkRefused(listener.Logger, listener.Receiver, SignalName(signal), decision.Tenant, result.Reason, result.RetryAfter);
            return ExportOutcome.Fail(ReceiveFailure.SinkRefused, result.Reason ?? "the collector is busy; retry later", result.RetryAfter);
        }

        listener.Counters.OnAccepted(summary.ItemCount, decision.Tenant);
        return ExportOutcome.Ok;
    }

    public static string SignalName(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Traces => "traces",
        OtlpSignal.Metrics => "metrics",
        _ => "logs",
    };
}
