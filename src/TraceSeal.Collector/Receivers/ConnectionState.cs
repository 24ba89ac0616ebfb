using TraceSeal.Collector.Identity;
using TraceSeal.Collector.Tls;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// What a receiver knows about one connection, stored in the connection's Items. The client identity is
/// captured once, inside the certificate validation callback, from the certificate that was just verified,
/// so nothing later in the connection can substitute another; the tenant decision is made once, right
/// after the handshake, and reused by every request (HTTP/2 multiplexes thousands on one connection).
/// </summary>
internal sealed class ConnectionState
{
    /// <summary>Key in ConnectionContext.Items.</summary>
    public static readonly object ItemKey = new();

    public ConnectionState(ProtocolListener listener) => Listener = listener;

    public ProtocolListener Listener { get; }

    /// <summary>Identities of the verified client certificate; null until verified (or with no mutual TLS).</summary>
    public IReadOnlyList<string>? VerifiedIdentities { get; set; }

    /// <summary>Why the client certificate was refused, when it was.</summary>
    public HandshakeFailure? CertificateFailure { get; set; }

    /// <summary>Set once the connection is established (after the handshake on TLS listeners).</summary>
    public TenantDecision? Decision { get; set; }
}
