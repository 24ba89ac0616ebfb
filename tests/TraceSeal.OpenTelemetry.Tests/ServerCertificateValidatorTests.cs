using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.OpenTelemetry.Transport;
using TraceSeal.Pki;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>The validation decision as a pure function: the runtime's system-store verdict is never consulted.</summary>
public sealed class ServerCertificateValidatorTests
{
    [Fact]
    public void A_certificate_the_system_accepted_is_refused_when_it_does_not_chain_to_the_configured_CA()
    {
        using var configured = DevPki.CreateCa("Configured CA");
        using var systemTrusted = DevPki.CreateCa("System Trusted CA");
        using var server = DevPki.IssueServer(systemTrusted, "localhost", ["localhost"]);
        using var pinned = X509CertificateLoader.LoadCertificate(configured.Certificate.RawData);

        // SslPolicyErrors.None: as if the system store trusted "System Trusted CA" and the name matched.
        SecureOtlpTlsException? refusal = ServerCertificateValidator.Validate(server.Certificate, null, SslPolicyErrors.None, [pinned], "OTEL_EXPORTER_OTLP_CERTIFICATE=ca.crt", "localhost");

        Assert.NotNull(refusal);
        Assert.Equal(ServerCertificateFailure.NotRootedAtConfiguredCa, refusal.Failure);
    }

    [Fact]
    public void A_certificate_from_the_configured_CA_passes_even_though_the_system_store_does_not_know_that_CA()
    {
        using var configured = DevPki.CreateCa("Configured CA");
        using var server = DevPki.IssueServer(configured, "localhost", ["localhost"]);
        using var pinned = X509CertificateLoader.LoadCertificate(configured.Certificate.RawData);

        Assert.Null(ServerCertificateValidator.Validate(server.Certificate, null, SslPolicyErrors.RemoteCertificateChainErrors, [pinned], "ca", "localhost"));
    }

    [Fact]
    public void A_name_mismatch_fails_even_with_the_right_CA()
    {
        using var configured = DevPki.CreateCa("Configured CA");
        using var server = DevPki.IssueServer(configured, "other", ["other.example"]);
        using var pinned = X509CertificateLoader.LoadCertificate(configured.Certificate.RawData);

        SecureOtlpTlsException? refusal = ServerCertificateValidator.Validate(server.Certificate, null, SslPolicyErrors.RemoteCertificateNameMismatch, [pinned], "ca", "localhost");

        Assert.Equal(ServerCertificateFailure.HostnameMismatch, refusal?.Failure);
        Assert.Contains("other.example", refusal!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_certificate_is_refused()
    {
        Assert.Equal(ServerCertificateFailure.NoCertificate, ServerCertificateValidator.Validate(null, null, SslPolicyErrors.RemoteCertificateNotAvailable, null, "ca", "h")?.Failure);
    }
}
