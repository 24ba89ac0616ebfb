using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;

namespace TraceSeal.Collector.Tests.TestSupport;

/// <summary>A started <see cref="OtlpReceiver"/> on 127.0.0.1 port 0 plus mTLS HTTP clients that talk to it.</summary>
internal sealed class ReceiverHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private ReceiverHarness(OtlpReceiver receiver, CountingSink sink, X509Certificate2 trustedCa)
    {
        Receiver = receiver;
        Sink = sink;
        TrustedCa = trustedCa;
    }

    public OtlpReceiver Receiver { get; }

    public CountingSink Sink { get; }

    public X509Certificate2 TrustedCa { get; }

    /// <summary>Serial number of the server certificate in the most recent handshake of any client made here.</summary>
    public string? LastServerSerial { get; private set; }

    public static async Task<ReceiverHarness> StartAsync(
        ReceiverTestPki pki,
        TlsServerSettings? tls = null,
        long maxRequestBytes = 1024 * 1024,
        IReadOnlyList<TenantRule>? tenants = null,
        ILoggerFactory? loggerFactory = null,
        bool plaintext = false,
        AdmissionBudget? admission = null,
        ReceiverLimitSettings? limits = null,
        int maxDecompressionRatio = OtlpProtocolSettings.DefaultMaxDecompressionRatio)
    {
        tls ??= plaintext ? null : pki.Tls();
        var settings = new OtlpReceiverSettings
        {
            Name = "otlp",
            Grpc = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", Tls = tls, AllowPlaintext = plaintext, MaxRequestBytes = maxRequestBytes, MaxDecompressionRatio = maxDecompressionRatio },
            Http = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", Tls = tls, AllowPlaintext = plaintext, MaxRequestBytes = maxRequestBytes, MaxDecompressionRatio = maxDecompressionRatio },
            Tenants = tenants ?? [],
            Limits = limits ?? new ReceiverLimitSettings(),
        };
        var sink = new CountingSink();
        var receiver = new OtlpReceiver(settings, sink, loggerFactory ?? NullLoggerFactory.Instance, admission);
        await receiver.StartAsync(CancellationToken.None);
        return new ReceiverHarness(receiver, sink, pki.Ca.Certificate);
    }

    public Uri HttpUri(string path) => new($"https://127.0.0.1:{Receiver.HttpEndpoint!.Port}{path}");

    public Uri GrpcUri(string path) => new($"https://127.0.0.1:{Receiver.GrpcEndpoint!.Port}{path}");

    /// <summary>A client presenting <paramref name="clientCertificate"/> (null = none) and trusting only the test CA.</summary>
    public HttpClient CreateClient(X509Certificate2? clientCertificate, X509Certificate2? trustedCa = null)
    {
        X509Certificate2 trust = trustedCa ?? TrustedCa;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // Always offer the certificate, whatever CA names the server lists, so the server decides.
                LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate!,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => VerifyServer(certificate, trust),
            },
            ConnectTimeout = Timeout,
        };
        return new HttpClient(handler) { Timeout = Timeout };
    }

    public static HttpRequestMessage HttpPost(Uri uri, byte[] body, string contentType, string? contentEncoding = null, Version? version = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (contentEncoding is not null)
        {
            content.Headers.ContentEncoding.Add(contentEncoding);
        }

        return new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = content,
            Version = version ?? HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public static HttpRequestMessage GrpcPost(Uri uri, byte[] frame, string? grpcEncoding = null, string? timeout = null, string contentType = "application/grpc")
    {
        var content = new ByteArrayContent(frame);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        if (grpcEncoding is not null)
        {
            request.Headers.Add("grpc-encoding", grpcEncoding);
        }

        if (timeout is not null)
        {
            request.Headers.Add("grpc-timeout", timeout);
        }

        return request;
    }

    /// <summary>Sends a gRPC call and returns grpc-status (trailers, or headers for trailers-only), grpc-message, details and body.</summary>
    public static async Task<GrpcResult> SendGrpcAsync(HttpClient client, HttpRequestMessage request)
    {
        using HttpResponseMessage response = await client.SendAsync(request);
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First()
            : null;
        string? status = Header("grpc-status");
        string? details = Header("grpc-status-details-bin");
        Google.Rpc.Status? decoded = null;
        if (details is not null)
        {
            string padded = details.PadRight(details.Length + ((4 - (details.Length % 4)) % 4), '=');
            decoded = Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(padded));
        }

        return new GrpcResult((int)response.StatusCode, status is null ? -1 : int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Header("grpc-message"), decoded, body, Header("grpc-accept-encoding"));
    }

    public async ValueTask DisposeAsync() => await Receiver.DisposeAsync();

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="trust"/> alone (no system roots, no revocation).</summary>
    public static bool ChainsTo(X509Certificate? certificate, X509Certificate2 trust)
    {
        if (certificate is not X509Certificate2 server)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trust);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }

    private bool VerifyServer(X509Certificate? certificate, X509Certificate2 trust)
    {
        bool ok = ChainsTo(certificate, trust);
        if (ok)
        {
            LastServerSerial = ((X509Certificate2)certificate!).SerialNumber;
        }

        return ok;
    }
}

internal sealed record GrpcResult(int HttpStatus, int GrpcStatus, string? GrpcMessage, Google.Rpc.Status? Details, byte[] Body, string? AcceptEncoding);
