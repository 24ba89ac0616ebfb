using TraceSeal.OpenTelemetry.Buffering;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Pipeline;

namespace TraceSeal.OpenTelemetry.Transport;

/// <summary>
/// Owns one exporter's connection machinery: the reloading TLS transport, the certificate reloader and the
/// retry handler, and hands the upstream exporter an <see cref="HttpClient"/> over them through
/// <c>OtlpExporterOptions.HttpClientFactory</c> (which 1.20 uses for both gRPC and OTLP/HTTP on .NET).
/// </summary>
internal sealed class SecureTransport : IDisposable
{
    private readonly ReloadingTransport _transport;
    private readonly RetryHandler _retry;
    private readonly CertificateReloader? _reloader;
    private readonly BufferingHandler? _buffering;

    public SecureTransport(ExporterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        CertificateMaterial? material = context.Settings.Plaintext ? null : CertificateMaterial.Load(context.Settings, DateTimeOffset.UtcNow);
        _transport = new ReloadingTransport(context, material);
        _retry = new RetryHandler(_transport, context);
        if (context.Settings.Buffer is { } buffer)
        {
            try
            {
                _buffering = new BufferingHandler(_retry, new DiskBuffer(context, buffer), context);
            }
            catch
            {
                _retry.Dispose();
                _transport.Dispose();
                throw;
            }
        }

        if (material is not null && (context.Settings.CaFile.IsSet || context.Settings.ClientCertificateFile.IsSet))
        {
            _reloader = new CertificateReloader(context, _transport, material.Fingerprint);
        }

        Context = context;
    }

    public ExporterContext Context { get; }

    public ReloadingTransport Transport => _transport;

    public CertificateReloader? Reloader => _reloader;

    /// <summary>The sealed disk buffer's handler, when the buffer is on.</summary>
    public BufferingHandler? Buffering => _buffering;

    public HttpClient CreateHttpClient() => new(_buffering is null ? _retry : _buffering, disposeHandler: false)
    {
        // The retry handler enforces the export deadline itself; this is only a backstop.
        Timeout = Context.Settings.Timeout + TimeSpan.FromSeconds(5),
    };

    public void Dispose()
    {
        _reloader?.Dispose();
        _buffering?.Dispose();
        _retry.Dispose();
        _transport.Dispose();
    }
}
