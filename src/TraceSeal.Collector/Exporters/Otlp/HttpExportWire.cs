using System.Net;
using System.Net.Http.Headers;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>OTLP/HTTP with protobuf bodies: POST {endpoint}/v1/traces|metrics|logs.</summary>
internal sealed class HttpExportWire(OtlpTarget target, OtlpExporterHeaders headers, bool gzip, TimeProvider time) : ExportWire(target, headers, gzip)
{
    private static readonly MediaTypeHeaderValue Protobuf = new("application/x-protobuf");

    // Uri.ToString() ends a path-less URI with "/"; trim it so the paths are not "//v1/traces".
    private readonly Uri[] _uris =
    [
        new(target.BaseUri.ToString().TrimEnd('/') + "/v1/traces"),
        new(target.BaseUri.ToString().TrimEnd('/') + "/v1/metrics"),
        new(target.BaseUri.ToString().TrimEnd('/') + "/v1/logs"),
    ];

    public override byte[] PrepareBody(ReadOnlySpan<byte> payload) => Gzip ? Compress(payload, 0) : payload.ToArray();

    public override HttpRequestMessage CreateRequest(OtlpSignal signal, byte[] body, TimeSpan attemptTimeout)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = Protobuf;
        if (Gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        var request = new HttpRequestMessage(HttpMethod.Post, _uris[(int)signal])
        {
            Content = content,

            // HTTP/2 when the server offers it (ALPN), else HTTP/1.1: both are valid OTLP/HTTP.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-protobuf"));
        AddHeaders(request);
        return request;
    }

    public override async Task<AttemptResult> ReadAsync(HttpResponseMessage response, OtlpSignal signal, CancellationToken cancellationToken)
    {
        int status = (int)response.StatusCode;
        byte[]? body = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        bool protobuf = string.Equals(response.Content.Headers.ContentType?.MediaType, "application/x-protobuf", StringComparison.OrdinalIgnoreCase);
        if (status is >= 200 and < 300)
        {
            (long rejected, string error) = protobuf && body is not null ? ReadPartialSuccess(signal, body) : (0, string.Empty);
            return new AttemptResult(status, false, null, rejected, UpstreamStatus.Truncate(error));
        }

        TimeSpan? retryAfter = UpstreamStatus.RetryAfter(response.Headers.RetryAfter, time.GetUtcNow());
        string message = string.Empty;
        if (protobuf && body is { Length: > 0 })
        {
            try
            {
                message = Google.Rpc.Status.Parser.ParseFrom(body).Message;
            }
            catch (Google.Protobuf.InvalidProtocolBufferException)
            {
                // Not a google.rpc.Status; the HTTP status alone decides.
            }
        }

        return new AttemptResult(status, false, retryAfter, 0, $"HTTP {status}: {UpstreamStatus.Truncate(message)}");
    }
}
