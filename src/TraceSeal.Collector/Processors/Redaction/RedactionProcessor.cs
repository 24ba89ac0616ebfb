using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Redaction;

/// <summary>
/// `redaction`: every attribute map of a request (resource, scope, span, span event, span link, log record, data
/// point) and every log body go through the <see cref="Redactor"/>. Upstream leaves link attributes alone; see
/// <see cref="OtlpItems.AllAttributes"/>.
/// </summary>
internal sealed class RedactionProcessor(string id, Redactor redactor) : TransformProcessor(id)
{
    public override bool Apply(IMessage request, TransformContext context)
    {
        bool changed = OtlpItems.ApplyToEach(OtlpItems.AllAttributes(request), redactor.Attributes);
        if (request is ExportLogsServiceRequest logs)
        {
            foreach (var log in OtlpItems.LogRecords(logs))
            {
                changed |= redactor.Body(log.Body, log.Attributes);
            }
        }

        return changed;
    }
}
