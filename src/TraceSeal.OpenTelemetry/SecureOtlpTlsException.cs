namespace TraceSeal.OpenTelemetry;

/// <summary>Why a server certificate was refused.</summary>
public enum ServerCertificateFailure
{
    /// <summary>The server presented no certificate.</summary>
    NoCertificate,

    /// <summary>The certificate does not chain to the configured CA (OTEL_EXPORTER_OTLP_CERTIFICATE). No other trust store is consulted.</summary>
    NotRootedAtConfiguredCa,

    /// <summary>The certificate's subject alternative names do not contain the endpoint's host.</summary>
    HostnameMismatch,

    /// <summary>No CA file is configured and the system trust store refused the certificate.</summary>
    SystemTrustFailed,
}

/// <summary>
/// A TLS handshake was refused because of the server's certificate. Thrown from the certificate validation
/// callback, so it is the inner exception of the <see cref="HttpRequestException"/> the export fails with; the
/// exporter also logs <see cref="Exception.Message"/> and counts it (<c>traceseal.otlp.tls_refused</c>).
/// </summary>
public sealed class SecureOtlpTlsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SecureOtlpTlsException(ServerCertificateFailure failure, string message)
        : base(message)
    {
        Failure = failure;
    }

    /// <summary>Creates the exception (for serializers and analyzers).</summary>
    public SecureOtlpTlsException()
        : this(ServerCertificateFailure.NoCertificate, "server certificate refused")
    {
    }

    /// <summary>Creates the exception (for serializers and analyzers).</summary>
    public SecureOtlpTlsException(string message)
        : this(ServerCertificateFailure.NoCertificate, message)
    {
    }

    /// <summary>Creates the exception (for serializers and analyzers).</summary>
    public SecureOtlpTlsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>What was wrong with the server's certificate.</summary>
    public ServerCertificateFailure Failure { get; }
}
