namespace TraceSeal.Collector.Tls;

/// <summary>Why a TLS handshake was refused. Values index counter arrays: append only.</summary>
internal enum HandshakeFailure
{
    /// <summary>Mutual TLS is required and the client sent no certificate.</summary>
    NoClientCertificate = 0,

    /// <summary>The client certificate does not chain to client_ca_file.</summary>
    UntrustedCa = 1,

    /// <summary>The client certificate (or its chain) is past notAfter.</summary>
    Expired = 2,

    NotYetValid = 3,

    /// <summary>The certificate lacks the clientAuth extended key usage.</summary>
    WrongUsage = 4,

    /// <summary>Any other chain error (bad signature, invalid extensions, ...).</summary>
    InvalidCertificate = 5,

    /// <summary>The ClientHello offers only versions below min_version.</summary>
    ProtocolVersion = 6,

    /// <summary>The first bytes are not a TLS handshake record (plaintext HTTP/1.1, h2c, a port scanner).</summary>
    NotTls = 7,

    /// <summary>The peer closed before sending anything.</summary>
    NoClientHello = 8,

    /// <summary>Anything else: timeout, no common cipher suite, reset mid-handshake.</summary>
    Other = 9,
}

internal static class HandshakeFailures
{
    public const int Count = 10;

    // Stable snake_case labels: metric labels and log fields; never rename.
    private static readonly string[] Labels =
    [
        "no_client_certificate",
        "untrusted_ca",
        "expired",
        "not_yet_valid",
        "wrong_usage",
        "invalid_certificate",
        "protocol_version",
        "not_tls",
        "no_client_hello",
        "other",
    ];

    public static string Label(HandshakeFailure failure) => Labels[(int)failure];

    public static bool TryParse(string label, out HandshakeFailure failure)
    {
        for (int i = 0; i < Labels.Length; i++)
        {
            if (string.Equals(Labels[i], label, StringComparison.Ordinal))
            {
                failure = (HandshakeFailure)i;
                return true;
            }
        }

        failure = default;
        return false;
    }
}
