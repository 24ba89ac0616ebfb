using System.Net.Security;

namespace TraceSeal.Collector.Config;

/// <summary>A receiver protocol's `tls:` block (upstream configtls.ServerConfig).</summary>
internal static class TlsServerParser
{
    private static readonly string[] Keys =
    [
        "cert_file", "key_file", "ca_file", "client_ca_file", "min_version", "max_version", "cipher_suites",
        "reload_interval", "include_system_ca_certs_pool",
    ];

    public static TlsServerSettings? Parse(ConfigContext ctx, YamlMap tls)
    {
        tls.CheckKeys(Keys);
        var cert = tls.FilePath("cert_file", "the server certificate (PEM) this receiver presents");
        var key = tls.FilePath("key_file", "the private key (PEM) of cert_file");
        var ca = tls.FilePath("ca_file", "the CA bundle (PEM) that signed cert_file");
        var clientCa = tls.FilePath("client_ca_file", "mutual TLS needs the CA that signed your clients' certificates");
        var min = TlsVersions.Read(ctx, tls, "min_version");
        var max = TlsVersions.Read(ctx, tls, "max_version");
        var reload = tls.Duration("reload_interval");
        var suites = CipherSuites(ctx, tls);
        var systemPool = tls.Bool("include_system_ca_certs_pool");

        bool ok = true;
        foreach (var (name, value, what) in new[]
        {
            ("cert_file", cert, "the server certificate (PEM) this receiver presents"),
            ("key_file", key, "the private key (PEM) of cert_file"),
        })
        {
            if (value is null && !tls.Has(name))
            {
                ctx.Error(tls.At, tls.Child(name), $"required when tls is set: {what}");
            }

            ok &= value is not null;
        }

        if (min is not null && max is not null && TlsVersions.Compare(max, min) < 0)
        {
            ctx.Error(tls.ValueNode("max_version")!, tls.Child("max_version"), $"max_version {max} is below min_version {min}; raise max_version or remove it");
        }

        if (systemPool == true && tls.Has("client_ca_file"))
        {
            ctx.Error(tls.ValueNode("include_system_ca_certs_pool")!, tls.Child("include_system_ca_certs_pool"),
                "true together with client_ca_file would let any public CA issue accepted client certificates; " +
                "remove it (TraceSeal trusts only client_ca_file for clients)");
        }

        if (!tls.Has("client_ca_file"))
        {
            ctx.Warn(tls.At, tls.Path, "server-only TLS: any client can send; set client_ca_file for mutual TLS");
        }

        return ok
            ? new TlsServerSettings
            {
                CertFile = cert!,
                KeyFile = key!,
                CaFile = ca,
                ClientCaFile = clientCa,
                MinVersion = min ?? "1.2",
                MaxVersion = max,
                CipherSuites = suites,
                ReloadInterval = reload,
            }
            : null;
    }

    /// <summary>IANA names as in <see cref="TlsCipherSuite"/>, so the receiver can apply them without a lookup table.</summary>
    private static List<string> CipherSuites(ConfigContext ctx, YamlMap tls)
    {
        var suites = new List<string>();
        var items = tls.List("cipher_suites") ?? [];
        for (int i = 0; i < items.Count; i++)
        {
            var name = items[i].Value ?? "";
            if (name.StartsWith("TLS_", StringComparison.Ordinal) && Enum.TryParse<TlsCipherSuite>(name, out _))
            {
                suites.Add(name);
            }
            else
            {
                ctx.Error(items[i], $"{tls.Child("cipher_suites")}[{i}]",
                    $"unknown cipher suite \"{name}\"; use IANA names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
            }
        }

        return suites;
    }
}
