using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// Writes `traceseal up`'s port flags into an existing collector.yaml by changing only the value's characters (the
/// YAML node's position), so comments and the user's edits stay as they are. What cannot be written that way (the
/// key is missing, the value comes from an environment variable, the file does not parse) is refused with the file
/// and the key to edit: a flag is never silently ignored.
/// </summary>
internal static class UpConfigFile
{
    public static readonly string[] GrpcEndpoint = ["receivers", "otlp", "protocols", "grpc", "endpoint"];
    public static readonly string[] HttpEndpoint = ["receivers", "otlp", "protocols", "http", "endpoint"];
    public static readonly string[] MetricsAddress = ["service", "telemetry", "metrics", "address"];

    /// <summary>
    /// Sets the port of the `host:port` at <paramref name="path"/> to <paramref name="port"/>; returns the new text and
    /// whether it changed. Throws <see cref="UsageException"/> naming <paramref name="option"/>, the file and the key.
    /// </summary>
    public static (string Text, bool Changed) SetPort(string yaml, string file, string option, int port, string[] path)
    {
        string key = string.Join("::", path);
        YamlMappingNode root = Load(yaml, file, option);
        if (Find(root, path) is not YamlScalarNode scalar)
        {
            if (path == MetricsAddress && Insert(yaml, root, port) is { } inserted)
            {
                return (inserted, true);
            }

            throw Refuse(option, port, file, $"it has no {key} to change; add it (or delete the file to have up write a new one)");
        }

        string value = scalar.Value ?? "";
        int colon = value.LastIndexOf(':');
        if (value.Contains("${", StringComparison.Ordinal) || colon < 0)
        {
            throw Refuse(option, port, file, $"its {key} is \"{value}\", which up cannot rewrite; edit it there");
        }

        string updated = value[..(colon + 1)] + port.ToString(CultureInfo.InvariantCulture);
        if (updated == value)
        {
            return (yaml, false);
        }

        int start = checked((int)scalar.Start.Index);
        int end = checked((int)scalar.End.Index);
        return (string.Concat(yaml.AsSpan(0, start), updated, yaml.AsSpan(end)), true);
    }

    /// <summary>Adds `telemetry: metrics: address:` as the first entry of a block-style `service:` that has no `telemetry`.</summary>
    private static string? Insert(string yaml, YamlMappingNode root, int port)
    {
        if (Child(root, "service") is not YamlMappingNode { Style: not MappingStyle.Flow } service || Child(service, "telemetry") is not null
            || service.Children.Count == 0 || service.Children[0].Key is not YamlScalarNode first)
        {
            return null;
        }

        int lineStart = checked((int)first.Start.Index) - (checked((int)first.Start.Column) - 1);
        string indent = new(' ', checked((int)first.Start.Column) - 1);
        string block = $"{indent}telemetry:\n{indent}  metrics:\n{indent}    address: 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}\n";
        return yaml.Insert(lineStart, block);
    }

    private static YamlMappingNode Load(string yaml, string file, string option)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new UsageException($"{option}: {file} does not parse ({e.Message}); fix it, or delete it to have up write a new one");
        }

        return stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode root
            ? root
            : throw new UsageException($"{option}: {file} is not a collector config (one YAML mapping); delete it to have up write a new one");
    }

    private static YamlNode? Find(YamlMappingNode root, string[] path)
    {
        YamlNode? node = root;
        foreach (string key in path)
        {
            node = node is YamlMappingNode map ? Child(map, key) : null;
        }

        return node;
    }

    private static YamlNode? Child(YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode { Value: { } name } && name == key)
            {
                return v;
            }
        }

        return null;
    }

    private static UsageException Refuse(string option, int port, string file, string why) =>
        new($"{option} {port.ToString(CultureInfo.InvariantCulture)}: not applied to {file}: {why}");
}
