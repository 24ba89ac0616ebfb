using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// Where an exporter sends: the base URI, whether TLS is used and the name the server certificate must carry.
/// Plaintext needs both an explicit <c>http://</c> endpoint and <c>tls::insecure: true</c>; the loader enforces
/// that already, and this re-checks it so no other construction path can produce a plaintext exporter.
/// </summary>
internal sealed class OtlpTarget
{
    private OtlpTarget(Uri baseUri, bool useTls, string serverName)
    {
        BaseUri = baseUri;
        UseTls = useTls;
        ServerName = serverName;
    }

    /// <summary>Scheme, host, port and (otlphttp) base path, without a trailing slash.</summary>
    public Uri BaseUri { get; }

    public bool UseTls { get; }

    /// <summary>SNI and the name verified against the certificate: <c>server_name_override</c>, else the endpoint host.</summary>
    public string ServerName { get; }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the key and the fix.</summary>
    public static OtlpTarget Parse(string id, OtlpExporterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string endpoint = settings.Endpoint;
        string key = $"exporters::{id}::endpoint";
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            throw new InvalidOperationException($"{key}: required: the upstream collector, e.g. collector.internal:4317");
        }

        bool hasScheme = endpoint.Contains("://", StringComparison.Ordinal);
        if (!hasScheme && settings.Protocol == OtlpExporterProtocol.Http)
        {
            throw new InvalidOperationException($"{key}: invalid endpoint \"{endpoint}\"; use a URL such as https://collector.internal:4318");
        }

        // A bare `host:port` (gRPC) means TLS, as upstream: plaintext is never implied.
        string text = hasScheme ? endpoint : "https://" + endpoint;
        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.Host.Length == 0)
        {
            throw new InvalidOperationException($"{key}: invalid endpoint \"{endpoint}\"; use host:port or an https:// URL");
        }

        bool plain = uri.Scheme == Uri.UriSchemeHttp;
        if (plain && !settings.Tls.Insecure)
        {
            throw new InvalidOperationException($"{key}: http:// sends telemetry in plaintext; use https://, or set tls::insecure: true to opt out explicitly");
        }

        if (!plain && settings.Tls.Insecure)
        {
            throw new InvalidOperationException($"exporters::{id}::tls::insecure: true sends telemetry in plaintext and is only allowed with an explicit http:// endpoint; remove it to use TLS");
        }

        // gRPC paths are fixed by the service name, so a path in an otlp endpoint is dropped (as upstream).
        string path = settings.Protocol == OtlpExporterProtocol.Http ? uri.AbsolutePath.TrimEnd('/') : string.Empty;
        var baseUri = new Uri($"{uri.Scheme}://{uri.Authority}{path}", UriKind.Absolute);
        string serverName = settings.Tls.ServerNameOverride is { Length: > 0 } over ? over : uri.IdnHost;
        return new OtlpTarget(baseUri, !plain, serverName);
    }
}
