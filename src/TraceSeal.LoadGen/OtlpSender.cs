using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace TraceSeal.LoadGen;

/// <summary>
/// Sends one export request and classifies the answer: <c>null</c> for an acknowledgement, otherwise the
/// status label errors are counted under (<c>http 503</c>, <c>grpc 14 UNAVAILABLE</c>).
/// </summary>
internal sealed class OtlpSender
{
    public const string GrpcPath = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
    public const string HttpPath = "v1/traces";

    private readonly LoadProtocol _protocol;
    private readonly Uri _uri;
    private readonly Version _version;
    private readonly string _contentType;

    public OtlpSender(Uri endpoint, LoadProtocol protocol, bool http11)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _protocol = protocol;
        var baseUri = endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");
        _uri = new Uri(baseUri, protocol == LoadProtocol.Grpc ? GrpcPath : HttpPath);
        _version = http11 ? HttpVersion.Version11 : HttpVersion.Version20;
        _contentType = protocol switch
        {
            LoadProtocol.Grpc => "application/grpc",
            LoadProtocol.HttpJson => "application/json",
            _ => "application/x-protobuf",
        };
    }

    public Uri Uri => _uri;

    /// <param name="scratch">Per-worker buffer the response body is drained into (its content is not needed).</param>
    public async Task<string?> SendAsync(HttpClient client, byte[] body, byte[] scratch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _uri)
        {
            Version = _version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", _contentType);
        if (_protocol == LoadProtocol.Grpc)
        {
            // gRPC over HTTP/2 requires "te: trailers" (detects proxies that would drop trailers).
            request.Headers.TryAddWithoutValidation("te", "trailers");
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);

        // Drain the body: for gRPC the trailers (and so grpc-status) only exist after it. The body itself
        // (ExportTraceServiceResponse, partial_success) is not inspected; a server that rejects spans it
        // acknowledged is not something a load test can tell apart.
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            while (await stream.ReadAsync(scratch, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }

        int http = (int)response.StatusCode;
        if (_protocol != LoadProtocol.Grpc)
        {
            return http == 200 ? null : HttpLabel(http);
        }

        if (http != 200)
        {
            return HttpLabel(http);
        }

        // Trailers-only responses (errors raised before any message) carry grpc-status in the headers.
        var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        if (status is null)
        {
            return "grpc-status missing";
        }

        return status == "0" ? null : GrpcLabel(status);
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string HttpLabel(int status) => "http " + status.ToString(CultureInfo.InvariantCulture);

    internal static string GrpcLabel(string status) => status switch
    {
        "1" => "grpc 1 CANCELLED",
        "2" => "grpc 2 UNKNOWN",
        "3" => "grpc 3 INVALID_ARGUMENT",
        "4" => "grpc 4 DEADLINE_EXCEEDED",
        "7" => "grpc 7 PERMISSION_DENIED",
        "8" => "grpc 8 RESOURCE_EXHAUSTED",
        "12" => "grpc 12 UNIMPLEMENTED",
        "13" => "grpc 13 INTERNAL",
        "14" => "grpc 14 UNAVAILABLE",
        "16" => "grpc 16 UNAUTHENTICATED",
        _ => "grpc " + status,
    };
}
