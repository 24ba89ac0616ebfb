using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TraceSeal.Pki;

namespace TraceSeal.Verify.Tests.Support;

internal enum ServerMode
{
    Plaintext,
    Tls,
    MutualTls,
}

/// <summary>Which OTLP transports a <see cref="TestServer"/> answers, like a collector's grpc and http receivers.</summary>
public enum OtlpService
{
    /// <summary>Both paths on one listener (what the original probes were written against).</summary>
    Both,

    /// <summary>An OTLP/HTTP receiver: POST /v1/traces; anything else is 404 (no grpc-status).</summary>
    HttpOnly,

    /// <summary>A gRPC receiver: the Export method; anything else is grpc-status 12 (UNIMPLEMENTED), as gRPC servers answer.</summary>
    GrpcOnly,
}

/// <summary>A minimal OTLP sink on Kestrel, loopback, port 0: POST /v1/traces answers 200 and the gRPC
/// Export method answers an empty message with grpc-status 0. Client certificates are checked against
/// the given CA only, like a collector's client_ca_file.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<TestServer> StartAsync(ServerMode mode, IssuedCertificate? server = null, IssuedCertificate? clientCa = null, HttpProtocols protocols = HttpProtocols.Http1AndHttp2,
        OtlpService service = OtlpService.Both)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = protocols;
            if (mode == ServerMode.Plaintext)
            {
                return;
            }

            listen.UseHttps(https =>
            {
                https.ServerCertificate = server!.Certificate;
                https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                if (mode == ServerMode.MutualTls)
                {
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.ClientCertificateValidation = (certificate, _, _) => ChainsTo(certificate, clientCa!.Certificate);
                }
            });
        }));

        var app = builder.Build();
        app.Run(context => HandleAsync(context, service));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestServer(app, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task HandleAsync(HttpContext context, OtlpService service)
    {
        if (service == OtlpService.GrpcOnly && context.Request.Path != "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "12";
            return;
        }

        if (service != OtlpService.HttpOnly && context.Request.Path == "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        {
            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(new byte[5]);
            context.Response.AppendTrailer("grpc-status", "0");
            return;
        }

        if (context.Request.Path == "/v1/traces" && HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.ContentType = "application/x-protobuf";
            return;
        }

        context.Response.StatusCode = 404;
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        return chain.Build(certificate);
    }
}
