using TraceSeal.Collector.Components;
using TraceSeal.Collector.Receivers;
using TraceSeal.Otlp;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Config;

/// <summary>`service`: pipelines (every reference checked) and the collector's own telemetry.</summary>
internal static class ServiceParser
{
    private static readonly string[] ServiceKeys = ["pipelines", "telemetry", "extensions", "admission"];
    private static readonly string[] PipelineKeys = ["receivers", "processors", "exporters"];
    private static readonly string[] PipelineTypes = ["traces", "metrics", "logs"];
    private static readonly string[] TelemetryKeys = ["metrics", "logs"];

    /// <summary>Component ids defined in each section (including ones that failed to parse, to avoid a second error).</summary>
    internal sealed record Defined(IReadOnlyList<string> Receivers, IReadOnlyList<string> Processors, IReadOnlyList<string> Exporters);

    public static List<PipelineSettings> Pipelines(ConfigContext ctx, YamlMap service, Defined defined, HashSet<string> used)
    {
        var pipelines = new List<PipelineSettings>();
        var map = service.Map("pipelines");
        if (map is null || map.Entries.Count == 0)
        {
            if (map is not null || !service.Has("pipelines"))
            {
                ctx.Error(service.KeyNode("pipelines") ?? service.At, service.Child("pipelines"),
                    "at least one pipeline is required, e.g. traces: {receivers: [otlp], exporters: [sealed_store]}");
            }

            return pipelines;
        }

        foreach (var (key, value) in map.Entries)
        {
            var id = key.Value ?? "";
            var path = map.Child(id);
            if (!ComponentId.TryParse(id, out var type, out var idError))
            {
                ctx.Error(key, path, idError!);
                continue;
            }

            if (!PipelineTypes.Contains(type))
            {
                ctx.Error(key, path, $"unknown pipeline type \"{type}\" (supported: {string.Join(", ", PipelineTypes)})");
                continue;
            }

            var p = YamlMap.From(ctx, value, key, path);
            if (p is null)
            {
                continue;
            }

            p.CheckKeys(PipelineKeys);
            var receivers = References(ctx, p, "receivers", "receiver", defined.Receivers, required: true, used);
            var processors = References(ctx, p, "processors", "processor", defined.Processors, required: false, used);
            var exporters = References(ctx, p, "exporters", "exporter", defined.Exporters, required: true, used);
            CheckMemoryLimiterFirst(ctx, p);
            pipelines.Add(new PipelineSettings
            {
                Name = id,
                Signal = type switch { "traces" => OtlpSignal.Traces, "metrics" => OtlpSignal.Metrics, _ => OtlpSignal.Logs },
                Receivers = receivers,
                Processors = processors,
                Exporters = exporters,
            });
        }

        return pipelines;
    }

    private static List<string> References(
        ConfigContext ctx, YamlMap p, string key, string kind, IReadOnlyList<string> defined, bool required, HashSet<string> used)
    {
        var ids = new List<string>();
        var items = p.List(key);
        if (required && (items is null || items.Count == 0) && (items is not null || !p.Has(key)))
        {
            ctx.Error(p.KeyNode(key) ?? p.At, p.Child(key), $"at least one {kind} is required; list {kind} ids defined under {key}");
        }

        foreach (var item in items ?? [])
        {
            var id = item.Value ?? "";
            if (!defined.Contains(id))
            {
                ctx.Error(item, p.Child(key), $"{kind} \"{id}\" is not defined; define it under {key} or remove it from this pipeline");
            }
            else if (ids.Contains(id))
            {
                ctx.Error(item, p.Child(key), $"{kind} \"{id}\" is listed twice; remove one");
            }
            else
            {
                ids.Add(id);
                used.Add($"{key}::{id}");
            }
        }

        return ids;
    }

    /// <summary>As upstream recommends: the limiter must refuse data before any other processor holds it in memory.</summary>
    private static void CheckMemoryLimiterFirst(ConfigContext ctx, YamlMap p)
    {
        var items = p.ValueNode("processors") as YamlSequenceNode;
        for (int i = 1; i < (items?.Children.Count ?? 0); i++)
        {
            if (items!.Children[i] is YamlScalarNode { Value: { } id } item
                && ComponentId.TryParse(id, out var type, out _) && type == "memory_limiter")
            {
                ctx.Error(item, p.Child("processors"),
                    $"memory_limiter must be the first processor so it refuses data before other processors hold it; move \"{id}\" to the front");
            }
        }
    }

    /// <summary>`service::extensions`: the extension ids to start, each defined under `extensions`, none twice.</summary>
    public static List<string> Extensions(ConfigContext ctx, YamlMap service, IReadOnlyList<string> defined, HashSet<string> used)
    {
        var ids = new List<string>();
        foreach (var item in service.List("extensions") ?? [])
        {
            var id = item.Value ?? "";
            if (!defined.Contains(id))
            {
                ctx.Error(item, service.Child("extensions"), $"extension \"{id}\" is not defined; define it under extensions (supported: {string.Join(", ", ComponentTable.Types(ComponentKind.Extension))}) or remove it");
            }
            else if (ids.Contains(id))
            {
                ctx.Error(item, service.Child("extensions"), $"extension \"{id}\" is listed twice; remove one");
            }
            else
            {
                ids.Add(id);
                used.Add($"extensions::{id}");
            }
        }

        return ids;
    }

    public static TelemetrySettings Telemetry(ConfigContext ctx, YamlMap service)
    {
        var defaults = new TelemetrySettings();
        var t = service.Map("telemetry");
        if (t is null)
        {
            return defaults;
        }

        t.CheckKeys(TelemetryKeys);
        var metrics = t.Map("metrics");
        metrics?.CheckKeys(["address", "level"]);
        var logs = t.Map("logs");
        logs?.CheckKeys(["level", "encoding"]);
        var address = metrics?.Scalar("address");
        if (address is not null && !HasPort(address.Value))
        {
            ctx.Error(address, metrics!.Child("address"), $"invalid address \"{address.Value}\"; use host:port, e.g. 127.0.0.1:8888");
            address = null;
        }

        return new TelemetrySettings
        {
            MetricsAddress = address?.Value ?? defaults.MetricsAddress,
            MetricsLevel = metrics?.OneOf("level", ["none", "basic", "normal", "detailed"]) ?? defaults.MetricsLevel,
            LogLevel = logs?.OneOf("level", ["debug", "info", "warn", "error"]) ?? defaults.LogLevel,
            LogEncoding = logs?.OneOf("encoding", ["console", "json"]) ?? defaults.LogEncoding,
        };
    }

    /// <summary>`service::admission` (TraceSeal): a budget too small for one request of the largest allowed size is an error.</summary>
    public static AdmissionSettings Admission(ConfigContext ctx, YamlMap service, IEnumerable<OtlpReceiverSettings> receivers)
    {
        var a = service.Map("admission");
        if (a is null)
        {
            return new AdmissionSettings();
        }

        a.CheckKeys(["max_in_flight_bytes"]);
        var bytes = a.Bytes("max_in_flight_bytes");
        long minimum = AdmissionSettings.MinimumBytes(receivers);
        if (bytes is not null && bytes < minimum)
        {
            long neededMib = (minimum + (1024 * 1024) - 1) / (1024 * 1024);
            ctx.Error(a.ValueNode("max_in_flight_bytes")!, a.Child("max_in_flight_bytes"),
                $"\"{a.String("max_in_flight_bytes")}\" cannot hold one request of the largest size the receivers accept, which needs at least {neededMib}MiB " +
                "(body, inflated body, transcoded body and transcoding scratch); raise it, or lower max_request_body_size / max_recv_msg_size_mib");
            bytes = null;
        }

        return new AdmissionSettings { MaxInFlightBytes = bytes };
    }

    private static bool HasPort(string? value)
    {
        int colon = value?.LastIndexOf(':') ?? -1;
        return colon >= 0 && int.TryParse(value.AsSpan(colon + 1), out var port) && port is > 0 and <= 65535;
    }

    public static void CheckKeys(YamlMap service) => service.CheckKeys(ServiceKeys);
}
