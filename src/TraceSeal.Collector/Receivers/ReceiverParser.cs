using System.Globalization;
using TraceSeal.Collector.Config;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Receivers;

/// <summary>The `otlp` receiver (upstream receiver/otlpreceiver config) plus TraceSeal's `allow_plaintext` and `tenants`.</summary>
internal static class ReceiverParser
{
    /// <summary>Loopback, as upstream since v0.104: a config that forgets `endpoint` must not open the port to the network.</summary>
    public const string DefaultGrpcEndpoint = "localhost:4317";

    public const string DefaultHttpEndpoint = "localhost:4318";

    /// <summary>4 MiB: gRPC's own default and upstream's.</summary>
    public const long DefaultMaxRecvMsgSizeMib = 4;

    /// <summary>20 MiB: upstream confighttp's default.</summary>
    public const long DefaultMaxRequestBodySize = 20L * 1024 * 1024;

    private static readonly string[] ReceiverKeys = ["protocols", "tenants", "limits"];
    private static readonly string[] LimitKeys = ["max_connections", "max_connections_per_address", "idle_timeout", "tenant_quota"];
    private static readonly string[] ProtocolNames = ["grpc", "http"];
    private static readonly string[] GrpcKeys = ["endpoint", "tls", "max_recv_msg_size_mib", "max_decompression_ratio", "allow_plaintext"];
    private static readonly string[] HttpKeys = ["endpoint", "tls", "max_request_body_size", "max_decompression_ratio", "allow_plaintext"];

    // Upstream keys that appear in real configs and do not affect security: accepted, not acted on.
    private static readonly string[] GrpcIgnored =
        ["max_concurrent_streams", "read_buffer_size", "write_buffer_size", "keepalive", "include_metadata", "transport"];

    private static readonly string[] HttpIgnored =
        ["cors", "include_metadata", "traces_url_path", "metrics_url_path", "logs_url_path"];

    public static OtlpReceiverSettings? Parse(ConfigContext ctx, string id, YamlMap receiver)
    {
        receiver.CheckKeys(ReceiverKeys);
        var tenants = TenantParser.Parse(ctx, receiver);
        var limits = ParseLimits(ctx, receiver.Map("limits"));
        var protocols = receiver.Map("protocols");
        if (protocols is null)
        {
            if (!receiver.Has("protocols"))
            {
                ctx.Error(receiver.At, receiver.Child("protocols"), "required: enable grpc, http or both");
            }

            return null;
        }

        protocols.CheckKeys(ProtocolNames);
        // `grpc:` with no value enables the protocol with defaults, so presence of the key is what counts.
        bool hasGrpc = protocols.KeyNode("grpc") is not null;
        bool hasHttp = protocols.KeyNode("http") is not null;
        if (!hasGrpc && !hasHttp)
        {
            ctx.Error(protocols.At, protocols.Path, "at least one protocol is required: add grpc, http or both");
            return null;
        }

        var grpc = ParseProtocol(ctx, protocols.Map("grpc"), isGrpc: true);
        var http = ParseProtocol(ctx, protocols.Map("http"), isGrpc: false);
        if ((hasGrpc && grpc is null) || (hasHttp && http is null))
        {
            // A protocol that failed to parse must never start, least of all without its TLS.
            return null;
        }

        return new OtlpReceiverSettings { Name = id, Grpc = grpc, Http = http, Tenants = tenants, Limits = limits };
    }

    /// <summary>`limits` (TraceSeal): connection limits, idle timeout and the default tenant quota.</summary>
    private static ReceiverLimitSettings ParseLimits(ConfigContext ctx, YamlMap? limits)
    {
        if (limits is null)
        {
            return new ReceiverLimitSettings();
        }

        limits.CheckKeys(LimitKeys);
        return new ReceiverLimitSettings
        {
            MaxConnections = (int)(limits.Integer("max_connections", 0, 1_000_000) ?? ReceiverLimitSettings.DefaultMaxConnections),
            MaxConnectionsPerAddress = (int)(limits.Integer("max_connections_per_address", 0, 1_000_000) ?? ReceiverLimitSettings.DefaultMaxConnectionsPerAddress),
            IdleTimeout = limits.Duration("idle_timeout") ?? ReceiverLimitSettings.DefaultIdleTimeout,
            TenantQuota = TenantParser.ParseQuota(ctx, limits, "tenant_quota"),
        };
    }

    private static OtlpProtocolSettings? ParseProtocol(ConfigContext ctx, YamlMap? p, bool isGrpc)
    {
        if (p is null)
        {
            return null;
        }

        p.CheckKeys(isGrpc ? GrpcKeys : HttpKeys, isGrpc ? GrpcIgnored : HttpIgnored);
        var endpoint = Endpoint(ctx, p) ?? (isGrpc ? DefaultGrpcEndpoint : DefaultHttpEndpoint);
        long maxBytes = isGrpc
            ? (p.Integer("max_recv_msg_size_mib", 1, 2047) ?? DefaultMaxRecvMsgSizeMib) * 1024 * 1024
            : p.Bytes("max_request_body_size") ?? DefaultMaxRequestBodySize;
        if (isGrpc)
        {
            var transport = p.Scalar("transport");
            if (transport is not null && transport.Value != "tcp")
            {
                ctx.Error(transport, p.Child("transport"), $"unsupported transport \"{transport.Value}\" (supported: tcp)");
            }
        }
        else
        {
            CheckUrlPath(ctx, p, "traces_url_path", "/v1/traces");
            CheckUrlPath(ctx, p, "metrics_url_path", "/v1/metrics");
            CheckUrlPath(ctx, p, "logs_url_path", "/v1/logs");
        }

        int ratio = (int)(p.Integer("max_decompression_ratio", 1, 100_000) ?? OtlpProtocolSettings.DefaultMaxDecompressionRatio);
        bool allowPlaintext = p.Bool("allow_plaintext") ?? false;
        var tlsMap = p.Map("tls");
        TlsServerSettings? tls = tlsMap is null ? null : TlsServerParser.Parse(ctx, tlsMap);
        bool hasTlsKey = p.KeyNode("tls") is not null;
        if (!hasTlsKey)
        {
            if (allowPlaintext)
            {
                ctx.Warn(p.KeyNode("allow_plaintext")!, p.Child("allow_plaintext"),
                    $"plaintext opt-out: {endpoint} accepts unencrypted, unauthenticated telemetry; add tls to close it");
            }
            else
            {
                ctx.Error(p.At, p.Path,
                    "no tls block: this receiver would accept plaintext; add tls (cert_file, key_file, client_ca_file) " +
                    "or set allow_plaintext: true to opt out explicitly");
            }
        }
        else if (allowPlaintext)
        {
            ctx.Error(p.KeyNode("allow_plaintext")!, p.Child("allow_plaintext"),
                "true contradicts the tls block; remove allow_plaintext to keep TLS, or remove tls to serve plaintext");
        }

        return hasTlsKey && tls is null
            ? null
            : new OtlpProtocolSettings { Endpoint = endpoint, Tls = tls, AllowPlaintext = allowPlaintext && !hasTlsKey, MaxRequestBytes = maxBytes, MaxDecompressionRatio = ratio };
    }

    private static string? Endpoint(ConfigContext ctx, YamlMap p)
    {
        var s = p.Scalar("endpoint");
        if (s is null)
        {
            return null;
        }

        var value = s.Value ?? "";
        int colon = value.LastIndexOf(':');
        bool ok = colon >= 0
            && int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is >= 0 and <= 65535 // 0 = any free port, as upstream (tests use it)
            && !value.Contains("://", StringComparison.Ordinal);
        if (!ok)
        {
            ctx.Error(s, p.Child("endpoint"), $"invalid endpoint \"{value}\"; use host:port, e.g. 0.0.0.0:4317");
            return null;
        }

        return value;
    }

    /// <summary>Upstream adds a missing leading slash, so `v1/traces` is the default too.</summary>
    private static void CheckUrlPath(ConfigContext ctx, YamlMap p, string key, string defaultPath)
    {
        YamlScalarNode? s = p.Scalar(key);
        if (s is null)
        {
            return;
        }

        var value = (s.Value ?? "").StartsWith('/') ? s.Value : "/" + s.Value;
        if (value != defaultPath)
        {
            ctx.Error(s, p.Child(key), $"custom url paths are not supported yet; remove {key} (the path is {defaultPath})");
        }
    }
}
