using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Collector.Processors.Transform;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>
/// `attributes`: applies its actions, in order, to every span's attributes (traces), every log record's (logs) and
/// every data point's (metrics), as upstream's attributesprocessor; with `include` / `exclude` only to the spans, log
/// records and metrics' data points that match include and not exclude (<see cref="MatchProperties"/>; an item is
/// matched before its own actions run). Resource attributes are the `resource` processor's; event and link attributes
/// are not touched (as upstream; `redaction` covers them).
/// </summary>
internal sealed class AttributesProcessor(string id, AttributeActions actions, MatchConfig? match) : TransformProcessor(id)
{
    public override bool Apply(IMessage request, TransformContext context)
    {
        if (match is null)
        {
            bool changed = false;
            foreach (var attributes in OtlpItems.ItemAttributes(request))
            {
                changed |= actions.Apply(attributes, context);
            }

            return changed;
        }

        return request switch
        {
            ExportTraceServiceRequest traces => Traces(traces, match, context),
            ExportLogsServiceRequest logs => Logs(logs, match, context),
            ExportMetricsServiceRequest metrics => Metrics(metrics, match, context),
            _ => false,
        };
    }

    private bool Traces(ExportTraceServiceRequest request, MatchConfig match, TransformContext context)
    {
        bool changed = false;
        foreach (var rs in request.ResourceSpans)
        {
            foreach (var ss in rs.ScopeSpans)
            {
                if (Group(match, rs.Resource, ss.Scope) is not { } group)
                {
                    continue;
                }

                foreach (var span in ss.Spans)
                {
                    if ((match.Include is null || match.Include.MatchesSpan(span)) && !(group.Exclude && match.Exclude!.MatchesSpan(span)))
                    {
                        changed |= actions.Apply(span.Attributes, context);
                    }
                }
            }
        }

        return changed;
    }

    private bool Logs(ExportLogsServiceRequest request, MatchConfig match, TransformContext context)
    {
        bool changed = false;
        foreach (var rl in request.ResourceLogs)
        {
            foreach (var sl in rl.ScopeLogs)
            {
                if (Group(match, rl.Resource, sl.Scope) is not { } group)
                {
                    continue;
                }

                foreach (var log in sl.LogRecords)
                {
                    if ((match.Include is null || match.Include.MatchesLog(log)) && !(group.Exclude && match.Exclude!.MatchesLog(log)))
                    {
                        changed |= actions.Apply(log.Attributes, context);
                    }
                }
            }
        }

        return changed;
    }

    /// <summary>As upstream's filtermetric for this processor: a metric matches by its name and its resource; all its data points follow.</summary>
    private bool Metrics(ExportMetricsServiceRequest request, MatchConfig match, TransformContext context)
    {
        bool changed = false;
        foreach (var rm in request.ResourceMetrics)
        {
            foreach (var sm in rm.ScopeMetrics)
            {
                if (Group(match, rm.Resource, sm.Scope) is not { } group)
                {
                    continue;
                }

                foreach (var metric in sm.Metrics)
                {
                    if ((match.Include is not null && !match.Include.MatchesMetric(metric)) || (group.Exclude && match.Exclude!.MatchesMetric(metric)))
                    {
                        continue;
                    }

                    foreach (var attributes in OtlpItems.DataPointAttributes(metric))
                    {
                        changed |= actions.Apply(attributes, context);
                    }
                }
            }
        }

        return changed;
    }

    /// <summary>
    /// What the resource and scope decide for every item of a group, once: null when include cannot match (nothing in
    /// the group is processed); otherwise whether exclude still can (then each item's own properties decide).
    /// </summary>
    private static GroupMatch? Group(MatchConfig match, OtlpResource? resource, InstrumentationScope? scope)
    {
        if (match.Include is not null && !(match.Include.MatchesResource(resource) && match.Include.MatchesScope(scope)))
        {
            return null;
        }

        return new GroupMatch(match.Exclude is not null && match.Exclude.MatchesResource(resource) && match.Exclude.MatchesScope(scope));
    }

    private readonly record struct GroupMatch(bool Exclude);
}
