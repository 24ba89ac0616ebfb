using TraceSeal.Collector.Components;
using TraceSeal.Collector.Extensions.HealthCheck;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Receivers.Nop;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Config;

/// <summary>
/// Reads OpenTelemetry Collector YAML by hand from YamlDotNet's node model, so every key is checked (an unknown
/// key is an error, never ignored) and every message carries file:line:column. All errors are collected and
/// thrown together as one <see cref="ConfigException"/>.
/// </summary>
internal static class CollectorConfigLoader
{
    private static readonly string[] TopLevelKeys = ["receivers", "processors", "exporters", "extensions", "service"];

    public static CollectorConfig Load(string path) => Load(path, ConfigLoadOptions.Default);

    public static CollectorConfig Load(string path, ConfigLoadOptions options)
    {
        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigError(path, 0, 0, "(file)", $"cannot read the config file: {ex.Message}")]);
        }

        return Parse(yaml, path, options);
    }

    public static CollectorConfig Parse(string yaml, string sourcePath) => Parse(yaml, sourcePath, ConfigLoadOptions.Default);

    public static CollectorConfig Parse(string yaml, string sourcePath, ConfigLoadOptions options)
    {
        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? Directory.GetCurrentDirectory();
        var ctx = new ConfigContext(sourcePath, baseDirectory, options);
        var root = ReadDocument(ctx, yaml);
        var config = root is null ? null : Build(ctx, root);
        if (ctx.Errors.Count > 0 || config is null)
        {
            throw new ConfigException(ctx.SortedErrors());
        }

        return config;
    }

    private static YamlMappingNode? ReadDocument(ConfigContext ctx, string yaml)
    {
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException ex)
        {
            // YamlDotNet reports a repeated key as "Duplicate key NAME"; upstream's YAML parser refuses it too.
            var message = ex.Message.StartsWith("Duplicate key ", StringComparison.Ordinal)
                ? $"duplicate key \"{ex.Message["Duplicate key ".Length..]}\"; keep one (YAML does not merge them)"
                : $"syntax error: {ex.Message}";
            ctx.Error((int)ex.Start.Line, (int)ex.Start.Column, "(yaml)", message);
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this (no position) on some malformed input, e.g. an unclosed `[`;
            // the last event it did parse is the best position we have.
            var at = parser.Current?.End ?? Mark.Empty;
            ctx.Error((int)at.Line, (int)at.Column, "(yaml)", "syntax error: the document cannot be parsed after this point; check for an unclosed [ or {");
            return null;
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            ctx.Error(1, 1, "(yaml)", stream.Documents.Count switch
            {
                0 => "the config is empty; it needs receivers, exporters and service::pipelines",
                1 => "expected a mapping with receivers, exporters and service::pipelines",
                _ => "more than one YAML document; put the whole config in one document",
            });
            return null;
        }

        return root;
    }

    private static CollectorConfig Build(ConfigContext ctx, YamlMappingNode rootNode)
    {
        EnvPass.Run(ctx, rootNode);
        var root = YamlMap.From(ctx, rootNode, rootNode, "")!;
        root.CheckKeys(TopLevelKeys);

        var receivers = Section<object>(ctx, root, ComponentKind.Receiver, out var receiverIds);
        var otlpReceivers = receivers.Values.OfType<OtlpReceiverSettings>().ToList();
        var processors = Section<ProcessorSettings>(ctx, root, ComponentKind.Processor, out var processorIds);
        var exporters = Section<ExporterSettings>(ctx, root, ComponentKind.Exporter, out var exporterIds);
        var extensions = Section<HealthCheckSettings>(ctx, root, ComponentKind.Extension, out var extensionIds);

        var used = new HashSet<string>(StringComparer.Ordinal);
        var pipelines = new List<PipelineSettings>();
        var enabledExtensions = new List<HealthCheckSettings>();
        var telemetry = new TelemetrySettings();
        var admission = new AdmissionSettings();
        var service = root.Map("service");
        if (service is null)
        {
            if (!root.Has("service"))
            {
                ctx.Error(rootNode, "service", "required: add service::pipelines with at least one pipeline");
            }
        }
        else
        {
            ServiceParser.CheckKeys(service);
            pipelines = ServiceParser.Pipelines(ctx, service, new(receiverIds, processorIds, exporterIds), used);
            Processors.Attributes.AttributesParser.CheckPipelines(ctx, processors, pipelines);
            foreach (var id in ServiceParser.Extensions(ctx, service, extensionIds, used))
            {
                if (extensions.TryGetValue(id, out var extension))
                {
                    enabledExtensions.Add(extension);
                }
            }

            telemetry = ServiceParser.Telemetry(ctx, service);
            admission = ServiceParser.Admission(ctx, service, otlpReceivers);
        }

        WarnUnused(ctx, root, used);
        return new CollectorConfig
        {
            SourcePath = ctx.SourcePath,
            Receivers = otlpReceivers,
            NopReceivers = [.. receivers.Values.OfType<NopReceiverSettings>().Select(r => r.Name)],
            Extensions = enabledExtensions,
            Processors = processors,
            Exporters = exporters,
            Pipelines = pipelines,
            Warnings = ctx.SortedWarnings(),
            Telemetry = telemetry,
            Admission = admission,
        };
    }

    /// <summary>Parses one component section; <paramref name="ids"/> gets every id written, parsed or not.</summary>
    private static Dictionary<string, T> Section<T>(ConfigContext ctx, YamlMap root, ComponentKind componentKind, out List<string> ids)
        where T : class
    {
        string section = ComponentTable.Section(componentKind);
        string kind = componentKind.ToString().ToLowerInvariant();
        string[] types = ComponentTable.Types(componentKind);
        var result = new Dictionary<string, T>(StringComparer.Ordinal);
        ids = [];
        var map = root.Map(section);
        foreach (var (key, value) in map?.Entries ?? [])
        {
            var id = key.Value ?? "";
            var path = $"{section}::{id}";
            ids.Add(id);
            int errorsBefore = ctx.Errors.Count;
            if (!ComponentId.TryParse(id, out var type, out var idError))
            {
                ctx.Error(key, path, idError!);
            }
            else if (ComponentTable.RefusalReason(componentKind, type) is { } reason)
            {
                ctx.Error(key, path, $"{reason} (supported: {string.Join(", ", types)})");
            }
            else if (ComponentTable.Find(componentKind, type) is not { } entry)
            {
                ctx.Error(key, path, $"unknown {kind} type \"{type}\" (supported: {string.Join(", ", types)})");
            }
            else if (YamlMap.From(ctx, value, key, path) is { } component && entry.Parse(ctx, id, component) is T parsed)
            {
                result[id] = parsed;
            }

            // Fail closed: a component that did not load must never be silently left out of a running collector.
            if (!result.ContainsKey(id) && ctx.Errors.Count == errorsBefore)
            {
                ctx.Error(key, path, "could not be loaded; this is a TraceSeal bug, please report it with this config");
            }
        }

        return result;
    }

    private static void WarnUnused(ConfigContext ctx, YamlMap root, HashSet<string> used)
    {
        foreach (var section in (string[])["receivers", "processors", "exporters", "extensions"])
        {
            foreach (var (key, _) in root.Map(section)?.Entries ?? [])
            {
                if (!used.Contains($"{section}::{key.Value}"))
                {
                    ctx.Warn(key, $"{section}::{key.Value}", section == "extensions"
                        ? "defined but not listed in service::extensions; it will not start"
                        : "defined but not used in any pipeline; it will not start");
                }
            }
        }
    }
}
