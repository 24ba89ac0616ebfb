using System.Security.Cryptography.X509Certificates;
using TraceSeal.Pki;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Endpoint;

/// <summary>
/// `verify endpoint`: the seeds' FAQ "How do I confirm mTLS is enforced and not just TLS?" as a run of
/// probes, in the order a connection is made — plaintext refused, TLS handshake, the server certificate,
/// old versions refused, then client authentication: none, a foreign CA's, and yours. The transport (gRPC or
/// OTLP/HTTP) is probed (<see cref="ProtocolProbe"/>), never guessed from the port or the URL's scheme.
/// </summary>
internal static class EndpointVerifier
{
    public static async Task<Report> VerifyAsync(EndpointOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var target = options.Target;
        var report = new Report("endpoint", $"{target.Authority} (server name {target.ServerName}{(target.ProtocolGiven ? $", expected {(target.Grpc ? "OTLP/gRPC" : "OTLP/HTTP")}" : string.Empty)})");
        DateTimeOffset now = options.Now ?? DateTimeOffset.UtcNow;
        X509Certificate2Collection? roots = options.CaFile is null ? null : LoadCa(options.CaFile);
        using IssuedCertificate? client = LoadClient(options);

        try
        {
            var http1 = await PlaintextProbe.Http1Async(target, options.Timeout, ct).ConfigureAwait(false);
            report.Add(http1.Accepted ? CheckResult.Finding(Catalogue.PlaintextHttp1, http1.Detail) : CheckResult.Pass(Catalogue.PlaintextHttp1, $"refused ({http1.Detail})"));
            var h2c = await PlaintextProbe.H2cAsync(target, options.Timeout, ct).ConfigureAwait(false);
            report.Add(h2c.Accepted ? CheckResult.Finding(Catalogue.PlaintextH2c, h2c.Detail) : CheckResult.Pass(Catalogue.PlaintextH2c, $"refused ({h2c.Detail})"));

            using var tls = await TlsProbe.HandshakeAsync(target, client?.Certificate, options.Timeout, ct).ConfigureAwait(false);
            if (tls.Leaf is null)
            {
                report.Add(CheckResult.Finding(Catalogue.TlsHandshake, $"no TLS 1.2/1.3 handshake: {tls.Error}"));
                NotChecked(report, "no TLS handshake");
                return report;
            }

            report.Add(tls.Completed
                ? CheckResult.Pass(Catalogue.TlsHandshake, $"{Version(tls.Protocol)}, {tls.Cipher}, ALPN {(string.IsNullOrEmpty(tls.Alpn) ? "none" : tls.Alpn)}")
                : CheckResult.Pass(Catalogue.TlsHandshake, $"server certificate received; the handshake then ended without a client certificate ({tls.Error})"));

            report.AddCertificate(Facts.Of($"server certificate of {target.Authority}", tls.Leaf));
            var seen = await ProtocolProbe.ProbeAsync(target, client?.Certificate, options.Timeout, ct).ConfigureAwait(false);
            report.Add(Transport(target, seen));
            if (!target.ProtocolGiven)
            {
                target = target with { Grpc = seen.Grpc == true && seen.Http != true };
            }

            report.Add(CertificateChecks.Chain(tls.Leaf, tls.Sent, roots, now));
            report.Add(CertificateChecks.HostName(tls.Leaf, target.ServerName));
            report.Add(CertificateChecks.Expiry(tls.Leaf, now));
            report.Add(CertificateChecks.KeyStrength(tls.Leaf));

            var legacy = await LegacyTlsProbe.RunAsync(target, options.OpenSslPath ?? LegacyTlsProbe.FindOpenSsl(), options.CertFile, options.KeyFile, options.Timeout * 2, ct).ConfigureAwait(false);
            report.Add(!legacy.Checked ? CheckResult.NotChecked(Catalogue.LegacyTls, legacy.Detail)
                : legacy.Accepted ? CheckResult.Finding(Catalogue.LegacyTls, legacy.Detail)
                : CheckResult.Pass(Catalogue.LegacyTls, legacy.Detail));

            await ClientAuthenticationAsync(report, target, client, options.Timeout, ct).ConfigureAwait(false);
        }
        catch (EndpointUnreachableException e)
        {
            report.Add(CheckResult.Finding(Catalogue.TlsHandshake, e.Message));
            NotChecked(report, "the endpoint is unreachable");
        }

        return report;
    }

    /// <summary>With --protocol: what was asked for against what was seen. Without: what was seen, or not checked.</summary>
    private static CheckResult Transport(EndpointTarget target, ProtocolObservation seen)
    {
        if (target.ProtocolGiven)
        {
            return ProtocolProbe.Compare(Catalogue.EndpointProtocol, target.Grpc ? "grpc" : "http/protobuf", $"--protocol {(target.Grpc ? "grpc" : "http")}", target, seen);
        }

        return seen.Grpc == true || seen.Http == true
            ? CheckResult.Pass(Catalogue.EndpointProtocol, $"serves {seen.Name} ({seen.Detail})")
            : seen.Grpc == false && seen.Http == false
                ? CheckResult.Finding(Catalogue.EndpointProtocol, $"serves neither OTLP/gRPC nor OTLP/HTTP ({seen.Detail})")
                : CheckResult.NotChecked(Catalogue.EndpointProtocol, $"could not tell gRPC from OTLP/HTTP without an answer ({seen.Detail}); pass --cert/--key or --protocol");
    }

    private static async Task ClientAuthenticationAsync(Report report, EndpointTarget target, IssuedCertificate? client, TimeSpan timeout, CancellationToken ct)
    {
        var anonymous = await ExportProbe.ExportAsync(target, null, timeout, ct).ConfigureAwait(false);
        report.Add(Refusal(Catalogue.MtlsNoCert, anonymous, "without a client certificate"));

        // A throwaway CA the server cannot know: proves client_ca_file is not "any CA" (system pool, public CAs).
        using (var foreignCa = DevPki.CreateCa("traceseal verify foreign CA", validity: TimeSpan.FromHours(1)))
        using (var foreign = DevPki.IssueClient(foreignCa, "traceseal-verify-foreign-client", validity: TimeSpan.FromHours(1)))
        {
            var result = await ExportProbe.ExportAsync(target, foreign.Certificate, timeout, ct).ConfigureAwait(false);
            report.Add(Refusal(Catalogue.MtlsForeignCa, result, "with a client certificate from a foreign CA"));
        }

        if (client is null)
        {
            report.Add(CheckResult.NotChecked(Catalogue.OtlpExport, "pass --cert and --key to export with your client certificate"));
            return;
        }

        var mine = await ExportProbe.ExportAsync(target, client.Certificate, timeout, ct).ConfigureAwait(false);
        string what = $"empty export to {target.ExportUri.AbsolutePath} as {client.Certificate.GetNameInfo(X509NameType.SimpleName, false)}";
        report.Add(mine.Succeeded
            ? CheckResult.Pass(Catalogue.OtlpExport, $"{what}: {mine.Detail}")
            : CheckResult.Finding(Catalogue.OtlpExport, $"{what} failed: {mine.Detail}"));
    }

    /// <summary>Refused in the handshake or first read: pass. Refused by the application (401/403,
    /// UNAUTHENTICATED): warn, since TLS let the client in. Accepted: fail.</summary>
    private static CheckResult Refusal(Rule rule, ExportProbe.Result result, string how)
    {
        if (!result.Answered)
        {
            return CheckResult.Pass(rule, $"refused {how}: {HowRefused(result.Detail)}");
        }

        return result.RefusedAsUnauthenticated
            ? new CheckResult(rule, Outcome.Warn, $"TLS accepted a client {how}; the application refused it ({result.Detail})")
            : CheckResult.Finding(rule, $"an export {how} was answered: {result.Detail}");
    }

    /// <summary>
    /// States how the refusal looked on the wire. A server that sends the alert (nginx, Go) shows it; .NET 10 on
    /// Linux (Kestrel, hence TraceSeal) cannot: SslStream validates the client certificate after OpenSSL finished
    /// the handshake, so it closes the connection without certificate_required (TLS 1.3) or handshake_failure
    /// (TLS 1.2). mTLS is still enforced: no request is ever answered without a trusted certificate.
    /// </summary>
    internal static string HowRefused(string detail)
    {
        if (detail.Contains("alert", StringComparison.OrdinalIgnoreCase))
        {
            return $"the server ended the handshake with a TLS alert ({detail})";
        }

        return detail.StartsWith("HTTP 400 from nginx", StringComparison.Ordinal)
            ? detail
            : $"the server closed the connection before answering any request, without a TLS alert ({detail}); " +
              "servers on .NET 10 with OpenSSL, TraceSeal included, close instead of sending certificate_required, and `openssl s_client` " +
              "without -cert then ends with \"unexpected eof while reading\" instead of \"alert certificate required\"";
    }

    private static void NotChecked(Report report, string why)
    {
        foreach (var rule in Catalogue.EndpointRules)
        {
            if (!report.Results.Any(r => ReferenceEquals(r.Rule, rule)))
            {
                report.Add(CheckResult.NotChecked(rule, why));
            }
        }
    }

    private static X509Certificate2Collection LoadCa(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--ca file not found: {path}", path);
        }

        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
        {
            throw new ArgumentException($"--ca {path} holds no PEM certificate");
        }

        return roots;
    }

    private static IssuedCertificate? LoadClient(EndpointOptions options)
    {
        if (options.CertFile is null && options.KeyFile is null)
        {
            return null;
        }

        if (options.CertFile is null || options.KeyFile is null)
        {
            throw new ArgumentException("--cert and --key go together: the client certificate and its private key");
        }

        return DevPki.Load(options.CertFile, options.KeyFile);
    }

    private static string Version(System.Security.Authentication.SslProtocols protocol) => protocol switch
    {
        System.Security.Authentication.SslProtocols.Tls13 => "TLS 1.3",
        System.Security.Authentication.SslProtocols.Tls12 => "TLS 1.2",
        _ => protocol.ToString(),
    };
}
