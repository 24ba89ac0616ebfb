using System.Collections;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.Pki;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Env;

/// <summary>`verify env`: leakage point 1 of the seeds (SDK plaintext fallback), checked on the variables
/// the app will actually use. <see cref="CheckAsync"/> also connects to an https:// endpoint and compares its
/// certificate's subjectAltName with the host (a mismatch is what makes people set INSECURE=true);
/// <see cref="Check"/> stays offline and says so.</summary>
internal static class EnvChecker
{
    public static IReadOnlyDictionary<string, string> FromProcess()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string name && name.StartsWith(OtlpEnvironment.Prefix, StringComparison.Ordinal) && entry.Value is string value)
            {
                result[name] = value;
            }
        }

        return result;
    }

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Everything but the endpoint's certificate, without touching the network.</summary>
    public static Report Check(IReadOnlyDictionary<string, string> variables, DateTimeOffset now) =>
        Finish(Offline(variables, now), CheckResult.NotChecked(Catalogue.EnvEndpointSan, "offline check: the endpoint was not contacted"));

    /// <summary><see cref="Check"/> plus the endpoint's certificate when the endpoint is reachable over TLS.</summary>
    public static async Task<Report> CheckAsync(IReadOnlyDictionary<string, string> variables, DateTimeOffset now, TimeSpan? timeout, CancellationToken ct)
    {
        var report = Offline(variables, now);
        var san = await EndpointSanAsync(new OtlpEnvironment(variables), timeout ?? DefaultTimeout, ct).ConfigureAwait(false);
        return Finish(report, san);
    }

    /// <summary>Connects with TLS (no client certificate, any server certificate accepted: only its names are
    /// read) and matches the endpoint host against the subjectAltName. Anything that prevents seeing the
    /// certificate is "not checked" with the reason, never a pass.</summary>
    internal static async Task<CheckResult> EndpointSanAsync(OtlpEnvironment env, TimeSpan timeout, CancellationToken ct)
    {
        var endpoint = env.Endpoint;
        if (endpoint is null)
        {
            return CheckResult.NotChecked(Catalogue.EnvEndpointSan, "no endpoint is set");
        }

        if (!endpoint.Value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return CheckResult.NotChecked(Catalogue.EnvEndpointSan, $"{Name(endpoint)} is not https://: there is no server certificate to check");
        }

        EndpointTarget target;
        try
        {
            string? protocol = env.Protocol?.Value.Equals("grpc", StringComparison.OrdinalIgnoreCase) switch
            {
                null => null,
                true => "grpc",
                false => "http",
            };
            target = EndpointTarget.Parse(endpoint.Value, protocol: protocol);
        }
        catch (ArgumentException e)
        {
            return CheckResult.NotChecked(Catalogue.EnvEndpointSan, $"{Name(endpoint)}={endpoint.Value} cannot be parsed: {e.Message}");
        }

        try
        {
            using var tls = await TlsProbe.HandshakeAsync(target, clientCertificate: null, timeout, ct).ConfigureAwait(false);
            if (tls.Leaf is null)
            {
                return CheckResult.NotChecked(Catalogue.EnvEndpointSan, $"no TLS handshake with {target.Authority}: {tls.Error}");
            }

            var result = CertificateChecks.HostName(tls.Leaf, target.Host, Catalogue.EnvEndpointSan);
            return result with { Message = $"server certificate of {target.Authority}: {result.Message}" };
        }
        catch (EndpointUnreachableException e)
        {
            return CheckResult.NotChecked(Catalogue.EnvEndpointSan, $"endpoint not reachable: {e.Message}");
        }
    }

    private static Report Finish(Report report, CheckResult san)
    {
        report.Add(san);
        report.PassUnreported(Catalogue.EnvRules);
        return report;
    }

    private static Report Offline(IReadOnlyDictionary<string, string> variables, DateTimeOffset now)
    {
        var env = new OtlpEnvironment(variables);
        var report = new Report("env", "environment");

        var endpoint = env.Endpoint;
        bool https = false;
        if (endpoint is null)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvNoEndpoint, "OTEL_EXPORTER_OTLP_ENDPOINT is not set: SDKs default to http://localhost:4318 / :4317"));
            report.Add(CheckResult.NotChecked(Catalogue.EnvHttpEndpoint, "no endpoint is set (the SDK default is plaintext)"));
        }
        else if (endpoint.Value.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            report.Add(CheckResult.Finding(Catalogue.EnvHttpEndpoint, $"{Name(endpoint)}={endpoint.Value}: spans are sent in plaintext"));
        }
        else
        {
            https = endpoint.Value.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            report.Add(CheckResult.Pass(Catalogue.EnvHttpEndpoint, $"{Name(endpoint)}={endpoint.Value}"));
        }

        if (env.Insecure is { } insecure && insecure.Value.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            report.Add(CheckResult.Finding(Catalogue.EnvInsecure, $"{Name(insecure)}=true: the gRPC exporter connects without TLS"));
        }

        if (env.Certificate is { } ca)
        {
            CheckFile(report, ca, now);
        }
        else if (https)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvNoCertificate,
                "OTEL_EXPORTER_OTLP_CERTIFICATE is not set: the collector certificate is trusted if any system CA signed it"));
        }

        ClientPair(report, env, now);
        return report;
    }

    private static void ClientPair(Report report, OtlpEnvironment env, DateTimeOffset now)
    {
        var cert = env.ClientCertificate;
        var key = env.ClientKey;
        if (cert is null && key is null)
        {
            return;
        }

        if (cert is null || key is null)
        {
            var (set, missing) = cert is null ? (key!, "CLIENT_CERTIFICATE") : (cert, "CLIENT_KEY");
            report.Add(CheckResult.Finding(Catalogue.EnvClientPair, $"{Name(set)} is set but OTEL_EXPORTER_OTLP_{missing} is not: no client certificate is presented"));
            return;
        }

        if (!CheckFile(report, cert, now) || !Readable(report, key))
        {
            return;
        }

        try
        {
            using var pair = DevPki.Load(cert.Value, key.Value);
            report.Add(CheckResult.Pass(Catalogue.EnvClientPair, $"{cert.Value} and {key.Value} are a pair ({pair.Certificate.GetNameInfo(X509NameType.SimpleName, false)})"));
        }
        catch (CryptographicException e)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvClientPair, $"{Name(key)}={key.Value} is not the key of {cert.Value}: {e.Message}"));
        }
    }

    /// <summary>Readable, parses as PEM certificates, and every certificate is inside its validity window.</summary>
    private static bool CheckFile(Report report, OtlpEnvironment.Setting setting, DateTimeOffset now)
    {
        if (!Readable(report, setting))
        {
            return false;
        }

        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(setting.Value);
        }
        catch (CryptographicException e)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{Name(setting)}={setting.Value} is not a PEM certificate: {e.Message}"));
            return false;
        }

        if (certificates.Count == 0)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{Name(setting)}={setting.Value} holds no PEM certificate"));
            return false;
        }

        bool ok = true;
        foreach (var certificate in certificates)
        {
            string subject = certificate.GetNameInfo(X509NameType.SimpleName, false);
            if (now < certificate.NotBefore.ToUniversalTime())
            {
                report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Value}: {subject} is not valid before {certificate.NotBefore.ToUniversalTime():u}"));
                ok = false;
            }
            else if (now > certificate.NotAfter.ToUniversalTime())
            {
                report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Value}: {subject} expired {certificate.NotAfter.ToUniversalTime():u}"));
                ok = false;
            }

            certificate.Dispose();
        }

        return ok;
    }

    private static bool Readable(Report report, OtlpEnvironment.Setting setting)
    {
        try
        {
            using var stream = File.OpenRead(setting.Value);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{Name(setting)}={setting.Value} cannot be read: {e.Message}"));
            return false;
        }
    }

    private static string Name(OtlpEnvironment.Setting setting) =>
        setting.Shadowed is null ? setting.Variable : $"{setting.Variable} (overrides {setting.Shadowed})";
}
