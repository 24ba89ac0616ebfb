using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Exporters;

/// <summary>
/// A minimal TLS Kestrel upstream (HTTP/1.1 and HTTP/2, server certificate from the test PKI) that answers each
/// request with the next scripted response and counts the requests it saw.
/// </summary>
internal sealed class ScriptedUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Queue<Func<HttpContext, Task>> _script = new();
    private readonly Lock _gate = new();
    private int _requests;

    private ScriptedUpstream(WebApplication app) => _app = app;

    public int Requests => Volatile.Read(ref _requests);

    public int Port { get; private set; }

    /// <summary>What every request beyond the script gets.</summary>
    public Func<HttpContext, Task> Default { get; set; } = Http(200);

    public static async Task<ScriptedUpstream> StartAsync(ReceiverTestPki pki)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        ListenOptions? listen = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0, l =>
        {
            l.Protocols = HttpProtocols.Http1AndHttp2;
            l.UseHttps(pki.Server.Certificate);
            listen = l;
        }));
        WebApplication app = builder.Build();
        var upstream = new ScriptedUpstream(app);
        app.Run(upstream.HandleAsync);
        await app.StartAsync();
        upstream.Port = listen!.IPEndPoint!.Port;
        return upstream;
    }

    public void Enqueue(params Func<HttpContext, Task>[] responses)
    {
        lock (_gate)
        {
            foreach (var response in responses)
            {
                _script.Enqueue(response);
            }
        }
    }

    /// <summary>An OTLP/HTTP answer with an optional Retry-After header value.</summary>
    public static Func<HttpContext, Task> Http(int status, string? retryAfter = null, byte[]? body = null) => async context =>
    {
        await Drain(context);
        context.Response.StatusCode = status;
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        context.Response.ContentType = "application/x-protobuf";
        if (body is not null)
        {
            await context.Response.Body.WriteAsync(body);
        }
    };

    /// <summary>A gRPC answer: an (empty or given) response message, then grpc-status (+ details) in the trailers.</summary>
    public static Func<HttpContext, Task> Grpc(int code, byte[]? details = null, byte[]? message = null) => async context =>
    {
        await Drain(context);
        context.Response.ContentType = "application/grpc";
        if (code == 0)
        {
            await context.Response.Body.WriteAsync(OtlpTestData.GrpcFrame(message ?? []));
        }

        context.Response.AppendTrailer("grpc-status", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (details is not null)
        {
            context.Response.AppendTrailer("grpc-status-details-bin", Convert.ToBase64String(details).TrimEnd('='));
        }
    };

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private static async Task Drain(HttpContext context)
    {
        using var sink = new MemoryStream();
        await context.Request.Body.CopyToAsync(sink);
    }

    private Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        Func<HttpContext, Task> respond;
        lock (_gate)
        {
            respond = _script.Count > 0 ? _script.Dequeue() : Default;
        }

        return respond(context);
    }
}
