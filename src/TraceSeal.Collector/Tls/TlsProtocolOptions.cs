using System.Net.Security;
using System.Security.Authentication;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Tls;

/// <summary>
/// The parts of a <c>tls:</c> block that are fixed for the life of a listener (versions, cipher suites);
/// certificate files are the reloadable part and live in <see cref="TlsMaterial"/>.
/// </summary>
internal sealed class TlsProtocolOptions
{
    private TlsProtocolOptions(SslProtocols protocols, ushort minWireVersion, CipherSuitesPolicy? cipherSuites)
    {
        Protocols = protocols;
        MinWireVersion = minWireVersion;
        CipherSuites = cipherSuites;
    }

    public SslProtocols Protocols { get; }

    /// <summary>min_version as it appears in a ClientHello (0x0303 = TLS 1.2), to classify refusals.</summary>
    public ushort MinWireVersion { get; }

    /// <summary>Null = platform defaults.</summary>
    public CipherSuitesPolicy? CipherSuites { get; }

    /// <summary>Parses versions and cipher suites; throws a <see cref="Receivers.ReceiverStartException"/> naming the key.</summary>
    public static TlsProtocolOptions Create(TlsServerSettings settings, string keyPrefix)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!TryParseVersion(settings.MinVersion, out int min))
        {
            throw new Receivers.ReceiverStartException($"{keyPrefix}min_version: unknown TLS version \"{settings.MinVersion}\"; use one of 1.0, 1.1, 1.2, 1.3 (1.2 or later recommended)");
        }

        int max = 3;
        if (settings.MaxVersion is { Length: > 0 } maxText && !TryParseVersion(maxText, out max))
        {
            throw new Receivers.ReceiverStartException($"{keyPrefix}max_version: unknown TLS version \"{maxText}\"; use one of 1.0, 1.1, 1.2, 1.3");
        }

        if (max < min)
        {
            throw new Receivers.ReceiverStartException($"{keyPrefix}max_version: {settings.MaxVersion} is lower than min_version {settings.MinVersion}; no TLS version would be left");
        }

        SslProtocols protocols = SslProtocols.None;
        for (int v = min; v <= max; v++)
        {
            protocols |= ToProtocol(v);
        }

        return new TlsProtocolOptions(protocols, (ushort)(0x0301 + min), CreateCipherPolicy(settings.CipherSuites, keyPrefix));
    }

    /// <summary>"1.0".."1.3" to 0..3.</summary>
    internal static bool TryParseVersion(string text, out int minor)
    {
        minor = text switch
        {
            "1.0" => 0,
            "1.1" => 1,
            "1.2" => 2,
            "1.3" => 3,
            _ => -1,
        };
        return minor >= 0;
    }

#pragma warning disable SYSLIB0039 // TLS 1.0/1.1 are obsolete; offered only when the operator asks for them explicitly.
    private static SslProtocols ToProtocol(int minor) => minor switch
    {
        0 => SslProtocols.Tls,
        1 => SslProtocols.Tls11,
        2 => SslProtocols.Tls12,
        _ => SslProtocols.Tls13,
    };
#pragma warning restore SYSLIB0039

    private static CipherSuitesPolicy? CreateCipherPolicy(IReadOnlyList<string> names, string keyPrefix)
    {
        if (names.Count == 0)
        {
            return null;
        }

        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            throw new Receivers.ReceiverStartException($"{keyPrefix}cipher_suites: this platform does not let applications choose cipher suites; remove cipher_suites (the OS policy applies)");
        }

        var suites = new List<TlsCipherSuite>(names.Count);
        foreach (string name in names)
        {
            // TlsCipherSuite members are named exactly as the IANA registry, which is what upstream configs use.
            if (!Enum.TryParse(name, ignoreCase: false, out TlsCipherSuite suite) || int.TryParse(name, out _))
            {
                throw new Receivers.ReceiverStartException($"{keyPrefix}cipher_suites: unknown cipher suite \"{name}\"; use IANA names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
            }

            suites.Add(suite);
        }

        return OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? new CipherSuitesPolicy(suites) : null;
    }
}
