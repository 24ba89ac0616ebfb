using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Verify.Endpoint;

/// <summary>
/// One empty OTLP trace export over TLS, the way an SDK sends it. This is how mTLS enforcement is seen
/// reliably: with TLS 1.3 the server's verdict on the client certificate arrives after the client's
/// handshake has completed, so only the first request shows it.
/// </summary>
internal static class ExportProbe
{
    /// <summary>gRPC message framing (grpc PROTOCOL-HTTP2 "Length-Prefixed-Message"): compressed flag
    /// (1 byte) + length (4 bytes, big-endian) + message; an empty ExportTraceServiceRequest is length 0.</summary>
    private static readonly byte[] EmptyGrpcMessage = [0, 0, 0, 0, 0];

    /// <summary>nginx completes the handshake whatever the client sent and refuses the request with a 400 page
    /// naming the certificate problem (ngx_http_request.c): that is TLS client authentication refusing, not the
    /// application, so it counts as not answered.</summary>
    private static readonly string[] NginxClientCertificateRefusals =
    [
        "No required SSL certificate was sent",
        "The SSL certificate error", // 495: a certificate that does not verify (foreign CA, expired)
    ];

    /// <summary>Refused: no HTTP answer (handshake or connection failed, or nginx's client-certificate
    /// refusal). Otherwise the status seen.</summary>
    public sealed record Result(bool Answered, bool Succeeded, bool RefusedAsUnauthenticated, string Detail)
    {
        /// <summary>The HTTP status of an answer, 0 when there was none.</summary>
        public int Status { get; init; }

        /// <summary>grpc-status from the trailers or a trailers-only answer; null when absent (not a gRPC server).</summary>
        public string? GrpcStatus { get; init; }
    }

    /// <param name="http2">OTLP/HTTP over HTTP/2 (for a server that negotiates only h2); gRPC is always HTTP/2.</param>
    public static async Task<Result> ExportAsync(EndpointTarget target, X509Certificate2? clientCertificate, TimeSpan timeout, CancellationToken ct, bool http2 = false)
    {
        var ssl = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,

            // The server certificate is judged by CertificateChecks; here an empty export is all that is sent.
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        };
        if (clientCertificate is not null)
        {
            ssl.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, additionalCertificates: null);
        }

        using var handler = new SocketsHttpHandler { SslOptions = ssl, ConnectTimeout = timeout, UseProxy = false };
        using var client = new HttpClient(handler) { Timeout = timeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, target.ExportUri);
        if (target.ServerName != target.Host)
        {
            request.Headers.Host = $"{target.ServerName}:{target.Port}"; // also the SNI SocketsHttpHandler sends
        }

        if (target.Grpc)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
            request.Content = new ByteArrayContent(EmptyGrpcMessage);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        }
        else if (http2)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            request.Content = new ByteArrayContent([]);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        }
        else
        {
            request.Version = HttpVersion.Version11;
            request.Content = new ByteArrayContent([]);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        }

        try
        {
            using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false); // trailers arrive after the body
            var result = NginxRefusal(response, body) ?? (target.Grpc ? Grpc(response) : Http(response));
            return result with
            {
                Status = (int)response.StatusCode,
                GrpcStatus = First(response.TrailingHeaders, "grpc-status") ?? First(response.Headers, "grpc-status"),
            };
        }
        catch (Exception e) when (e is HttpRequestException or IOException or AuthenticationException
                                      || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            return new Result(false, false, false, ProbeErrors.Describe(e));
        }
    }

    private static Result? NginxRefusal(HttpResponseMessage response, byte[] body)
    {
        if (response.StatusCode != HttpStatusCode.BadRequest || body.Length > 4096)
        {
            return null;
        }

        string text = System.Text.Encoding.ASCII.GetString(body);
        string? why = Array.Find(NginxClientCertificateRefusals, m => text.Contains(m, StringComparison.Ordinal));
        return why is null ? null : new Result(false, false, false, $"HTTP 400 from nginx before the request reached a location: \"{why}\"");
    }

    private static Result Http(HttpResponseMessage response)
    {
        int status = (int)response.StatusCode;
        string detail = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
        return new Result(true, response.IsSuccessStatusCode, status is 401 or 403, detail);
    }

    private static Result Grpc(HttpResponseMessage response)
    {
        // Trailers-only responses (errors) carry grpc-status in the headers instead of the trailers.
        string? status = First(response.TrailingHeaders, "grpc-status") ?? First(response.Headers, "grpc-status");
        string? message = First(response.TrailingHeaders, "grpc-message") ?? First(response.Headers, "grpc-message");
        string detail = $"HTTP {(int)response.StatusCode}, grpc-status {status ?? "missing"}{(message is null ? string.Empty : $" ({Uri.UnescapeDataString(message)})")}";
        bool ok = response.IsSuccessStatusCode && status == "0";

        // UNAUTHENTICATED (16) and PERMISSION_DENIED (7): refused, but above TLS.
        return new Result(true, ok, status is "16" or "7", detail);
    }

    private static string? First(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
