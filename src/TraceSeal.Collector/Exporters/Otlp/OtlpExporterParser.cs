using TraceSeal.Collector.Config;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>`otlp` and `otlphttp` exporters (upstream exporter/otlpexporter and otlphttpexporter config subset).</summary>
internal static class OtlpExporterParser
{
    private static readonly string[] Keys =
        ["endpoint", "tls", "headers", "compression", "timeout", "retry_on_failure", "sending_queue"];

    private static readonly string[] TlsKeys =
    [
        "ca_file", "cert_file", "key_file", "insecure", "insecure_skip_verify", "server_name_override", "min_version",
        "reload_interval",
    ];

    private static readonly string[] RetryKeys =
        ["enabled", "initial_interval", "max_interval", "max_elapsed_time", "multiplier", "randomization_factor"];

    private static readonly string[] QueueKeys =
        ["enabled", "num_consumers", "queue_size", "storage", "directory", "queue_key_file", "max_backlog_bytes"];

    /// <summary>Upstream's per-attempt timeouts: 5s for gRPC, 30s for HTTP.</summary>
    private static readonly TimeSpan GrpcTimeout = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan HttpTimeout = TimeSpan.FromSeconds(30);

    public static OtlpExporterSettings? Parse(ConfigContext ctx, string id, YamlMap m, OtlpExporterProtocol protocol)
    {
        m.CheckKeys(Keys);
        var endpoint = m.Scalar("endpoint");
        if (endpoint is null)
        {
            ctx.Error(m.At, m.Child("endpoint"), protocol == OtlpExporterProtocol.Grpc
                ? "required: the upstream collector, e.g. collector.internal:4317"
                : "required: the upstream collector, e.g. https://collector.internal:4318");
        }
        else if (protocol == OtlpExporterProtocol.Http && !IsHttpUrl(endpoint.Value))
        {
            ctx.Error(endpoint, m.Child("endpoint"), $"invalid endpoint \"{endpoint.Value}\"; use a URL such as https://collector.internal:4318");
            endpoint = null;
        }

        var tls = Tls(ctx, m, endpoint);
        var settings = new OtlpExporterSettings
        {
            Name = id,
            Protocol = protocol,
            Endpoint = endpoint?.Value ?? "",
            Tls = tls,
            Headers = Headers(ctx, m),
            Compression = m.OneOf("compression", ["gzip", "none"]) ?? "gzip",
            Timeout = m.Duration("timeout") ?? (protocol == OtlpExporterProtocol.Grpc ? GrpcTimeout : HttpTimeout),
            Retry = Retry(m.Map("retry_on_failure")),
            Queue = Queue(ctx, id, m.Map("sending_queue")),
        };
        return endpoint is null ? null : settings;
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static TlsClientSettings Tls(ConfigContext ctx, YamlMap exporter, YamlScalarNode? endpoint)
    {
        var tls = exporter.Map("tls");
        bool plainEndpoint = endpoint?.Value?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true;
        bool insecure = tls?.Bool("insecure") ?? false;
        if (plainEndpoint && !insecure)
        {
            ctx.Error(endpoint!, exporter.Child("endpoint"),
                "http:// sends telemetry in plaintext; use https://, or set tls::insecure: true to opt out explicitly");
        }

        if (tls is null)
        {
            return new TlsClientSettings();
        }

        tls.CheckKeys(TlsKeys);
        if (insecure && !plainEndpoint)
        {
            ctx.Error(tls.ValueNode("insecure")!, tls.Child("insecure"),
                "true sends telemetry in plaintext and is only allowed with an explicit http:// endpoint; remove it to use TLS");
        }
        else if (insecure)
        {
            ctx.Warn(tls.ValueNode("insecure")!, tls.Child("insecure"), "plaintext opt-out: telemetry leaves this collector unencrypted");
        }

        if (tls.Bool("insecure_skip_verify") == true)
        {
            ctx.Error(tls.ValueNode("insecure_skip_verify")!, tls.Child("insecure_skip_verify"),
                "true would accept any server certificate, so anyone on the path can read the data; set ca_file to the upstream's CA instead");
        }

        var cert = tls.FilePath("cert_file", "the client certificate (PEM) this collector presents upstream");
        var key = tls.FilePath("key_file", "the private key (PEM) of cert_file");
        if (tls.Has("cert_file") != tls.Has("key_file"))
        {
            var missing = tls.Has("cert_file") ? "key_file" : "cert_file";
            ctx.Error(tls.At, tls.Child(missing), "cert_file and key_file go together: set both for mutual TLS, or neither");
        }

        return new TlsClientSettings
        {
            CaFile = tls.FilePath("ca_file", "the CA bundle (PEM) that signed the upstream's server certificate"),
            CertFile = cert,
            KeyFile = key,
            Insecure = insecure,
            ServerNameOverride = tls.String("server_name_override"),
            MinVersion = TlsVersions.Read(ctx, tls, "min_version") ?? "1.2",
            ReloadInterval = tls.Duration("reload_interval"),
        };
    }

    private static Dictionary<string, string> Headers(ConfigContext ctx, YamlMap m)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var map = m.Map("headers");
        foreach (var (key, value) in map?.Entries ?? [])
        {
            if (value is YamlScalarNode s)
            {
                headers[key.Value ?? ""] = s.Value ?? "";
            }
            else
            {
                ctx.Error(value, map!.Child(key.Value ?? ""), $"expected a single value, found {YamlMap.Describe(value)}");
            }
        }

        return headers;
    }

    private static RetrySettings Retry(YamlMap? r)
    {
        var d = new RetrySettings();
        if (r is null)
        {
            return d;
        }

        r.CheckKeys(RetryKeys);
        return new RetrySettings
        {
            Enabled = r.Bool("enabled") ?? d.Enabled,
            InitialInterval = r.Duration("initial_interval") ?? d.InitialInterval,
            MaxInterval = r.Duration("max_interval") ?? d.MaxInterval,
            MaxElapsedTime = r.Duration("max_elapsed_time", allowZero: true) ?? d.MaxElapsedTime,
            Multiplier = r.Number("multiplier", 1, 100) ?? d.Multiplier,
            RandomizationFactor = r.Number("randomization_factor", 0, 1) ?? d.RandomizationFactor,
        };
    }

    /// <summary>`sending_queue::directory` when `enabled: true` is written without it (relative to the config file).</summary>
    internal static string DefaultQueueDirectory(string exporterId) => Path.Combine("sending_queue", SafeFileName(exporterId));

    /// <summary>
    /// `sending_queue::queue_key_file` when not written: next to the config file, so outside the default queue
    /// directory (a copy of that directory alone cannot be read) and in a directory that exists at first start.
    /// </summary>
    internal static string DefaultQueueKeyFile(string exporterId) => SafeFileName(exporterId) + ".queue-key.pem";

    /// <summary>`otlp/upstream` → `otlp_upstream`: an exporter id as one file name.</summary>
    private static string SafeFileName(string id) => id.Replace('/', '_');

    private static SendingQueueSettings Queue(ConfigContext ctx, string id, YamlMap? q)
    {
        var d = new SendingQueueSettings();
        if (q is null)
        {
            return d;
        }

        q.CheckKeys(QueueKeys);
        if (q.KeyNode("storage") is { } storage)
        {
            ctx.Error(storage, q.Child("storage"),
                "a persistent queue (file_storage) keeps telemetry in plaintext at rest; remove storage and set directory and queue_key_file: TraceSeal's sending queue is sealed on disk");
        }

        bool? enabled = q.Bool("enabled");
        string? directory = q.String("directory") is { } dir ? ctx.ResolvePath(dir) : null;
        string? keyFile = q.String("queue_key_file") is { } k ? ctx.ResolvePath(k) : null;
        bool sealedQueue = directory is not null || keyFile is not null || q.Has("max_backlog_bytes") || enabled == true;
        if (sealedQueue && enabled != false)
        {
            // TraceSeal has no in-memory queue: enabled: true (upstream's default, written out) means the sealed
            // queue, in a directory of its own with its key outside it; both are created 0700 / 0600 at first start.
            directory ??= ctx.ResolvePath(DefaultQueueDirectory(id));
            keyFile ??= ctx.ResolvePath(DefaultQueueKeyFile(id));
            if (IsInside(keyFile, directory))
            {
                ctx.Error(q.Scalar("queue_key_file") ?? q.Scalar("directory") ?? q.At, q.Child("queue_key_file"),
                    $"{keyFile} is inside sending_queue::directory {directory}; keep the queue key outside the queue directory, so that a copy of the directory alone cannot be read");
            }
        }

        return new SendingQueueSettings
        {
            Enabled = enabled ?? d.Enabled,
            NumConsumers = (int?)q.Integer("num_consumers", 1, 1000) ?? d.NumConsumers,
            QueueSize = (int?)q.Integer("queue_size", 1, int.MaxValue) ?? d.QueueSize,
            Directory = directory,
            QueueKeyFile = keyFile,
            MaxBacklogBytes = q.Bytes("max_backlog_bytes") ?? d.MaxBacklogBytes,
        };
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or below it (both full paths).</summary>
    private static bool IsInside(string path, string directory)
    {
        string dir = Path.TrimEndingDirectorySeparator(directory);
        return string.Equals(path, dir, StringComparison.Ordinal)
            || path.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
