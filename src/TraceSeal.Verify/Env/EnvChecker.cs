using System.Collections;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.Pki;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Env;

/// <summary>
/// `verify env`: leakage point 1 of the seeds (SDK plaintext fallback), checked on the variables the app will
/// actually use. Every rule reports what it saw in this run; a rule whose input is absent says so ("not checked")
/// or, where absence is itself the risk (no endpoint, no client certificate, INSECURE not explicitly false), is a
/// finding. <see cref="CheckAsync"/> also contacts an https:// endpoint: its certificate's subjectAltName against
/// the host, and which OTLP transport it serves against OTEL_EXPORTER_OTLP_PROTOCOL; <see cref="Check"/> stays
/// offline and says so.
/// </summary>
internal static class EnvChecker
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private const string Offline = "offline check: the endpoint was not contacted";

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

    /// <summary>Reads `NAME=VALUE` and `export NAME=VALUE` lines (what `traceseal up` prints, a .env file);
    /// quotes around the value are removed, `#` comments and other lines ignored. Only OTEL_EXPORTER_OTLP_* is kept.</summary>
    public static IReadOnlyDictionary<string, string> FromFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"env file not found: {path}", path);
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string raw in File.ReadLines(path))
        {
            string line = raw.Trim();
            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith('#') || !line.StartsWith(OtlpEnvironment.Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            string value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            result[line[..eq].Trim()] = value;
        }

        return result;
    }

    /// <summary>Everything but the endpoint itself, without touching the network.</summary>
    public static Report Check(IReadOnlyDictionary<string, string> variables, DateTimeOffset now, string target = "environment")
    {
        var report = OfflineChecks(variables, now, target, out _);
        report.Add(CheckResult.NotChecked(Catalogue.EnvEndpointSan, Offline));
        report.Add(CheckResult.NotChecked(Catalogue.EnvProtocol, Offline));
        return Finish(report);
    }

    /// <summary><see cref="Check"/> plus the endpoint: its certificate's names and the transport it serves.</summary>
    public static async Task<Report> CheckAsync(IReadOnlyDictionary<string, string> variables, DateTimeOffset now, TimeSpan? timeout, CancellationToken ct, string target = "environment")
    {
        var report = OfflineChecks(variables, now, target, out var client);
        using (client)
        {
            var env = new OtlpEnvironment(variables);
            var (san, protocol) = await EndpointChecksAsync(report, env, client, timeout ?? DefaultTimeout, ct).ConfigureAwait(false);
            report.Add(san);
            report.Add(protocol);
        }

        return Finish(report);
    }

    private static Report Finish(Report report)
    {
        report.NotCheckedUnreported(Catalogue.EnvRules, "no observation was made for this check");
        return report;
    }

    /// <summary>Connects with TLS (any server certificate accepted: only its names are read; the app's client
    /// certificate when it is usable) and probes the transport. Anything that prevents seeing the endpoint is
    /// "not checked" with the reason, never a pass.</summary>
    internal static async Task<(CheckResult San, CheckResult Protocol)> EndpointChecksAsync(Report report, OtlpEnvironment env, IssuedCertificate? client, TimeSpan timeout, CancellationToken ct)
    {
        var endpoint = env.Endpoint;
        if (endpoint is null)
        {
            return Both("no endpoint is set (TS-ENV-006)");
        }

        if (!endpoint.Value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return Both($"{Name(endpoint)} is not https://: there is no TLS endpoint to contact");
        }

        EndpointTarget target;
        try
        {
            target = EndpointTarget.Parse(endpoint.Value);
        }
        catch (ArgumentException e)
        {
            return Both($"{Name(endpoint)}={endpoint.Value} cannot be parsed: {e.Message}");
        }

        try
        {
            CheckResult san;
            using (var tls = await TlsProbe.HandshakeAsync(target, client?.Certificate, timeout, ct).ConfigureAwait(false))
            {
                if (tls.Leaf is null)
                {
                    return Both($"no TLS handshake with {target.Authority}: {tls.Error}");
                }

                report.AddCertificate(Facts.Of($"server certificate of {target.Authority}", tls.Leaf));
                var result = CertificateChecks.HostName(tls.Leaf, target.Host, Catalogue.EnvEndpointSan);
                san = result with { Message = $"server certificate of {target.Authority}: {result.Message}" };
            }

            var seen = await ProtocolProbe.ProbeAsync(target, client?.Certificate, timeout, ct).ConfigureAwait(false);
            var protocol = env.Protocol;
            string expected = protocol?.Value.ToLowerInvariant() ?? "http/protobuf";
            string source = protocol is null ? "OTEL_EXPORTER_OTLP_PROTOCOL is not set (spec default http/protobuf; some SDKs default to grpc)" : $"{Name(protocol)}={protocol.Value}";
            return (san, ProtocolProbe.Compare(Catalogue.EnvProtocol, expected, source, target, seen));
        }
        catch (EndpointUnreachableException e)
        {
            return Both($"endpoint not reachable: {e.Message}");
        }

        static (CheckResult, CheckResult) Both(string why) =>
            (CheckResult.NotChecked(Catalogue.EnvEndpointSan, why), CheckResult.NotChecked(Catalogue.EnvProtocol, why));
    }

    private static Report OfflineChecks(IReadOnlyDictionary<string, string> variables, DateTimeOffset now, string target, out IssuedCertificate? client)
    {
        var env = new OtlpEnvironment(variables);
        var report = new Report("env", target);

        var endpoint = env.Endpoint;
        bool plaintext = false;
        if (endpoint is null)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvNoEndpoint,
                "neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: SDKs export to http://localhost:4318 (grpc: localhost:4317) in plaintext"));
            report.Add(CheckResult.NotChecked(Catalogue.EnvHttpEndpoint, "no endpoint is set (TS-ENV-006: the SDK default is plaintext)"));
        }
        else
        {
            report.Add(CheckResult.Pass(Catalogue.EnvNoEndpoint, $"{Name(endpoint)}={endpoint.Value}"));
            if (endpoint.Value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                report.Add(CheckResult.Pass(Catalogue.EnvHttpEndpoint, $"{Name(endpoint)}={endpoint.Value}"));
            }
            else if (endpoint.Value.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                plaintext = true;
                report.Add(CheckResult.Finding(Catalogue.EnvHttpEndpoint, $"{Name(endpoint)}={endpoint.Value}: spans are sent in plaintext"));
            }
            else
            {
                report.Add(CheckResult.Finding(Catalogue.EnvHttpEndpoint,
                    $"{Name(endpoint)}={endpoint.Value} has no https:// scheme: whether TLS is used is left to the SDK and OTEL_EXPORTER_OTLP_INSECURE"));
            }
        }

        Insecure(report, env.Insecure);
        bool caUsable = FileChecks(report, env, now);
        Certificate(report, env, plaintext, caUsable);
        client = ClientPair(report, env, plaintext);
        return report;
    }

    private static void Insecure(Report report, OtlpEnvironment.Setting? insecure)
    {
        if (insecure is null)
        {
            report.Add(new CheckResult(Catalogue.EnvInsecure, Outcome.Warn,
                "OTEL_EXPORTER_OTLP_INSECURE is not set: the seeds ask for an explicit false, since some SDKs fall back to plaintext when TLS fails unless it is"));
        }
        else if (insecure.Value.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            report.Add(CheckResult.Pass(Catalogue.EnvInsecure, $"{Name(insecure)}=false"));
        }
        else if (insecure.Value.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            report.Add(CheckResult.Finding(Catalogue.EnvInsecure, $"{Name(insecure)}=true: the gRPC exporter connects without TLS"));
        }
        else
        {
            report.Add(new CheckResult(Catalogue.EnvInsecure, Outcome.Warn, $"{Name(insecure)}={insecure.Value} is neither true nor false: SDKs read it differently"));
        }
    }

    private static void Certificate(Report report, OtlpEnvironment env, bool plaintext, bool caUsable)
    {
        var ca = env.Certificate;
        if (ca is null)
        {
            report.Add(plaintext
                ? CheckResult.NotChecked(Catalogue.EnvNoCertificate, "the endpoint is plaintext (TS-ENV-001): no server certificate is verified at all")
                : CheckResult.Finding(Catalogue.EnvNoCertificate, "OTEL_EXPORTER_OTLP_CERTIFICATE is not set: the collector certificate is trusted if any system CA signed it"));
        }
        else
        {
            report.Add(caUsable
                ? CheckResult.Pass(Catalogue.EnvNoCertificate, $"{Name(ca)}={ca.Value}")
                : CheckResult.Finding(Catalogue.EnvNoCertificate, $"{Name(ca)}={ca.Value} is set but cannot be used (TS-ENV-005): nothing is pinned"));
        }
    }

    /// <summary>The pair the traces exporter presents: both set, both usable, and a key that belongs to the certificate.
    /// Returns the loaded pair (for the endpoint probes) when it is usable.</summary>
    private static IssuedCertificate? ClientPair(Report report, OtlpEnvironment env, bool plaintext)
    {
        var cert = env.ClientCertificate;
        var key = env.ClientKey;
        if (cert is null && key is null)
        {
            report.Add(CheckResult.NotChecked(Catalogue.EnvClientPair, "neither OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE nor OTEL_EXPORTER_OTLP_CLIENT_KEY is set"));
            report.Add(plaintext
                ? CheckResult.NotChecked(Catalogue.EnvNoClientCertificate, "the endpoint is plaintext (TS-ENV-001): no TLS, so no client certificate either")
                : CheckResult.Finding(Catalogue.EnvNoClientCertificate,
                    "no client certificate is set: TLS without client authentication. The seeds make mTLS the control that " +
                    "\"ensures only authorized applications can send telemetry to your collector\"; a TraceSeal collector refuses this app"));
            return null;
        }

        if (cert is null || key is null)
        {
            var (set, missing) = cert is null ? (key!, "CLIENT_CERTIFICATE") : (cert, "CLIENT_KEY");
            report.Add(CheckResult.Finding(Catalogue.EnvClientPair, $"{Name(set)} is set but OTEL_EXPORTER_OTLP_{missing} is not: no client certificate is presented"));
            report.Add(CheckResult.Finding(Catalogue.EnvNoClientCertificate, $"OTEL_EXPORTER_OTLP_{missing} is missing, so the app presents no client certificate"));
            return null;
        }

        try
        {
            var pair = DevPki.Load(cert.Value, key.Value);
            string subject = pair.Certificate.GetNameInfo(X509NameType.SimpleName, false);
            report.Add(CheckResult.Pass(Catalogue.EnvClientPair, $"{cert.Value} and {key.Value} are a pair ({subject})"));
            report.Add(CheckResult.Pass(Catalogue.EnvNoClientCertificate, $"the app presents {subject} from {Name(cert)}"));
            return pair;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            bool filesOk = Usable(cert.Value) && Usable(key.Value);
            report.Add(filesOk
                ? CheckResult.Finding(Catalogue.EnvClientPair, $"{Name(key)}={key.Value} is not the key of {cert.Value}: {e.Message}")
                : CheckResult.NotChecked(Catalogue.EnvClientPair, "the certificate or key file cannot be read (TS-ENV-005)"));
            report.Add(CheckResult.Finding(Catalogue.EnvNoClientCertificate, $"{Name(cert)} and {Name(key)} are set but do not load as a pair: no client certificate is presented"));
            return null;
        }
    }

    /// <summary>Every file variable, for every signal: readable, parses, certificates inside their validity window.
    /// Returns whether the CA the traces exporter uses is usable.</summary>
    private static bool FileChecks(Report report, OtlpEnvironment env, DateTimeOffset now)
    {
        var settings = env.FileSettings().ToList();
        if (settings.Count == 0)
        {
            report.Add(CheckResult.NotChecked(Catalogue.EnvFiles, "no CERTIFICATE, CLIENT_CERTIFICATE or CLIENT_KEY variable is set"));
            return false;
        }

        var good = new List<string>();
        bool caUsable = false;
        foreach (var setting in settings)
        {
            bool ok = setting.Variable.EndsWith("CLIENT_KEY", StringComparison.Ordinal) ? CheckKey(report, setting) : CheckCertificates(report, setting, now);
            if (ok)
            {
                good.Add(setting.Variable);
            }

            if (ok && env.Certificate is { } ca && ca.Variable == setting.Variable)
            {
                caUsable = true;
            }
        }

        if (good.Count == settings.Count)
        {
            report.Add(CheckResult.Pass(Catalogue.EnvFiles, $"readable and valid now: {string.Join(", ", good)}"));
        }

        return caUsable;
    }

    private static bool CheckCertificates(Report report, OtlpEnvironment.Setting setting, DateTimeOffset now)
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
            report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Variable}={setting.Value} is not a PEM certificate: {e.Message}"));
            return false;
        }

        if (certificates.Count == 0)
        {
            report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Variable}={setting.Value} holds no PEM certificate"));
            return false;
        }

        bool ok = true;
        foreach (var certificate in certificates)
        {
            var fact = Facts.Of($"{setting.Variable}={setting.Value}", certificate);
            report.AddCertificate(fact);
            if (now < fact.NotBefore)
            {
                report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Value}: {fact.Subject} is not valid before {fact.NotBefore:u}"));
                ok = false;
            }
            else if (now > fact.NotAfter)
            {
                report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Value}: {fact.Subject} expired {fact.NotAfter:u}"));
                ok = false;
            }

            certificate.Dispose();
        }

        return ok;
    }

    private static bool CheckKey(Report report, OtlpEnvironment.Setting setting)
    {
        if (!Readable(report, setting))
        {
            return false;
        }

        string pem = File.ReadAllText(setting.Value);
        foreach (Func<AsymmetricAlgorithm> create in new Func<AsymmetricAlgorithm>[] { ECDsa.Create, RSA.Create })
        {
            using var key = create();
            try
            {
                key.ImportFromPem(pem);
                return true;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                // try the next algorithm
            }
        }

        report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Variable}={setting.Value} holds no unencrypted PEM private key (EC or RSA)"));
        return false;
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
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message;
            report.Add(CheckResult.Finding(Catalogue.EnvFiles, $"{setting.Variable}={setting.Value} cannot be read: {why}"));
            return false;
        }
    }

    private static bool Usable(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Name(OtlpEnvironment.Setting setting) =>
        setting.Shadowed is null ? setting.Variable : $"{setting.Variable} (overrides {setting.Shadowed})";
}
