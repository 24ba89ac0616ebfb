using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;
using static TraceSeal.Verify.Config.YamlNav;

namespace TraceSeal.Verify.Config;

/// <summary>Checks shared by server (receiver) and client (exporter) tls blocks (upstream configtls).</summary>
internal static class TlsChecks
{
    /// <summary>configtls accepts "1.0".."1.3"; anything below 1.2 is deprecated by RFC 8996.</summary>
    public static void Versions(LintContext context, YamlMappingNode tls, string where)
    {
        foreach (string key in new[] { "min_version", "max_version" })
        {
            var (_, value) = Entry(tls, key);
            if (Text(value)?.Trim() is "1.0" or "1.1" or "1" && value is not null)
            {
                context.Add(Catalogue.TlsVersionBelow12, value, $"{where}.tls.{key} is \"{Text(value)}\": TLS below 1.2 is allowed");
            }
        }
    }

    /// <summary>A receiver's tls block: mTLS, the ca_file confusion, system pool, versions, reload.</summary>
    public static void Server(LintContext context, YamlScalarNode tlsKey, YamlMappingNode tls, string where)
    {
        var (caKey, _) = Entry(tls, "ca_file");
        var (clientCaKey, clientCa) = Entry(tls, "client_ca_file");
        bool hasClientCa = IsSet(clientCa);
        if (!hasClientCa && caKey is not null)
        {
            // Upstream a server's ca_file is not used to verify clients; only client_ca_file turns client auth on.
            context.Add(Catalogue.CaFileOnServer, caKey,
                $"{where}.tls has ca_file but no client_ca_file: neither upstream nor TraceSeal verifies clients with ca_file, any client may send");
        }
        else if (!hasClientCa)
        {
            context.Add(Catalogue.TlsWithoutClientCa, tlsKey, $"{where}.tls has no client_ca_file: TLS without client authentication");
        }

        var (poolKey, pool) = Entry(tls, "include_system_ca_certs_pool");
        if (hasClientCa && poolKey is not null && IsTrue(pool))
        {
            context.Add(Catalogue.SystemPoolWithClientCa, poolKey,
                $"{where}.tls.include_system_ca_certs_pool is true next to client_ca_file: public CAs are trusted for client certificates");
        }

        Versions(context, tls, where);
        foreach (string key in new[] { "cert_file", "client_ca_file" })
        {
            if (Text(Get(tls, key)) is { } path)
            {
                context.ReadCertificates($"{where}.tls.{key}", path);
            }
        }

        // TraceSeal watches cert_file, key_file and client_ca_file and reloads them whether or not reload_interval is
        // set (it only sets the poll interval); the upstream collector reloads only with reload_interval.
        if (!context.ForTraceSeal && Entry(tls, "reload_interval").Key is null && IsSet(Get(tls, "cert_file")))
        {
            context.Add(Catalogue.NoReloadInterval, tlsKey,
                $"{where}.tls has no reload_interval: the upstream collector serves the old certificate until it restarts (TraceSeal would reload it without)");
        }
    }
}
