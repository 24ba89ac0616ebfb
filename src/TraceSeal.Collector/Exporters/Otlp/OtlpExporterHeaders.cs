namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// The configured `headers` (often a bearer token), validated once. Names that the transport owns
/// (content-type, te, grpc-*) are refused so configuration cannot break the framing.
/// </summary>
internal sealed class OtlpExporterHeaders
{
    private readonly KeyValuePair<string, string>[] _headers;

    public OtlpExporterHeaders(string id, IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var list = new List<KeyValuePair<string, string>>(headers.Count);
        foreach (var (name, value) in headers)
        {
            string lower = name.ToLowerInvariant();
            if (lower is "content-type" or "content-encoding" or "content-length" or "te" or "host" or "connection" or "transfer-encoding"
                || lower.StartsWith("grpc-", StringComparison.Ordinal) || lower.StartsWith(':'))
            {
                throw new InvalidOperationException($"exporters::{id}::headers::{name}: this header is set by the OTLP transport and cannot be configured");
            }

            using var probe = new HttpRequestMessage();
            if (!probe.Headers.TryAddWithoutValidation(name, value) || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                // The value is not echoed: it is often a credential.
                throw new InvalidOperationException($"exporters::{id}::headers::{name}: not a valid HTTP header name or value");
            }

            list.Add(new(name, value));
        }

        _headers = [.. list];
    }

    public void ApplyTo(HttpRequestMessage request)
    {
        foreach (var (name, value) in _headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }
}
