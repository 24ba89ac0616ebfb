using Google.Protobuf;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>
/// A processor that changes telemetry before it is sealed (`attributes`, `resource`, `redaction`). It works on the
/// decoded request — an <c>ExportTraceServiceRequest</c>, <c>ExportMetricsServiceRequest</c> or
/// <c>ExportLogsServiceRequest</c> — which <see cref="PayloadRewriter"/> decodes once and re-encodes once for all
/// the transforms of a pipeline. Pipelines without one never decode (see TelemetryPipeline).
/// </summary>
internal interface ITelemetryTransform
{
    /// <summary>Changes <paramref name="request"/> in place; true when anything changed (false keeps the received bytes).</summary>
    bool Apply(IMessage request, TransformContext context);
}

/// <summary>
/// What travels with a batch besides its bytes and a transform may read (upstream's client.Info, as far as TraceSeal
/// has it): the identity that admitted the client and the tenant its identity rules chose. The actions' `from_context`
/// reads them as `auth.identity` and `auth.tenant`.
/// </summary>
internal readonly record struct TransformContext(string Identity, string Tenant);
