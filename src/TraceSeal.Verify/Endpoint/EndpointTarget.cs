using System.Net;

namespace TraceSeal.Verify.Endpoint;

/// <summary>What to probe: host, port, the name to verify in the certificate, and which OTLP transport.</summary>
internal sealed record EndpointTarget(string Host, int Port, string ServerName, bool Grpc, string HttpPath)
{
    /// <summary>True when the caller said which transport to expect (--protocol); otherwise <see cref="Grpc"/> is
    /// only a placeholder until <see cref="ProtocolProbe"/> has looked.</summary>
    public bool ProtocolGiven { get; init; }

    public const string TracesPath = "/v1/traces";
    public const string GrpcExportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    /// <summary>Host as it goes into a URI or `openssl -connect` (IPv6 in brackets).</summary>
    public string HostForUri => IPAddress.TryParse(Host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Host}]" : Host;

    public string Authority => $"{HostForUri}:{Port}";

    public Uri ExportUri => new($"https://{Authority}{(Grpc ? GrpcExportPath : HttpPath)}");

    /// <summary>
    /// Accepts `HOST:PORT`, `[v6]:PORT` or a URL (`https://collector:4318`, `https://collector:4318/v1/traces`).
    /// The transport is `--protocol` when given; otherwise it is probed (<see cref="ProtocolProbe"/>), never taken
    /// from the port or the scheme. An OTLP/HTTP path gets /v1/traces appended the way OTEL_EXPORTER_OTLP_ENDPOINT does.
    /// </summary>
    public static EndpointTarget Parse(string text, string? serverName = null, string? protocol = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        string input = text.Trim();
        if (!input.Contains("://", StringComparison.Ordinal))
        {
            input = "https://" + input;
        }

        if (!Uri.TryCreate(input, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"'{text}' is not HOST:PORT or a URL such as https://collector.internal:4318");
        }

        if (uri.Scheme is not ("https" or "http"))
        {
            throw new ArgumentException($"'{text}': only https:// (or http://, to prove it is refused) endpoints can be probed");
        }

        string host = uri.Host.Trim('[', ']');
        bool grpc = protocol?.Trim().ToLowerInvariant() switch
        {
            null or "" => false,
            "grpc" => true,
            "http" or "http/protobuf" or "http/json" => false,
            _ => throw new ArgumentException($"unknown --protocol '{protocol}'; valid values: grpc, http"),
        };

        string path = uri.AbsolutePath.TrimEnd('/');
        if (!path.EndsWith(TracesPath, StringComparison.Ordinal))
        {
            path += TracesPath;
        }

        return new EndpointTarget(host, uri.Port, string.IsNullOrWhiteSpace(serverName) ? host : serverName.Trim(), grpc, path)
        {
            ProtocolGiven = !string.IsNullOrWhiteSpace(protocol),
        };
    }
}
