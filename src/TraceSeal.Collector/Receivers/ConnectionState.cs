using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
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

    /// <summary>Why the verified certificate's identities are refused (<see cref="IdentityPolicy"/>); null when acceptable.</summary>
    public string? IdentityRefusal { get; set; }

    /// <summary>Why the client certificate was refused, when it was.</summary>
    public HandshakeFailure? CertificateFailure { get; set; }

    /// <summary>Set once the connection is established (after the handshake on TLS listeners).</summary>
    public TenantDecision? Decision { get; set; }

    /// <summary>The connection, for the idle sweep (<see cref="ReceiverGuards"/>).</summary>
    public ConnectionContext? Connection { get; set; }

    private int _activeRequests;
    private long _lastActivity;
    private long _closeRequestedAt;

    /// <summary>Requests in flight on this connection.</summary>
    public int ActiveRequests => Volatile.Read(ref _activeRequests);

    /// <summary>Timestamp (<see cref="TimeProvider"/>) of the connection's start or its last request's end.</summary>
    public long LastActivity => Interlocked.Read(ref _lastActivity);

    public void Opened(long now) => Interlocked.Exchange(ref _lastActivity, now);

    public void RequestStarted() => Interlocked.Increment(ref _activeRequests);

    public void RequestEnded(long now)
    {
        Interlocked.Exchange(ref _lastActivity, now);
        Interlocked.Decrement(ref _activeRequests);
    }

    /// <summary>
    /// Closes an idle connection: gracefully first (HTTP/2 GOAWAY; Kestrel closes once no stream is open), and
    /// aborts it if it is still open one <paramref name="grace"/> later. True the first time (count it once).
    /// </summary>
    public bool CloseIdle(long now, TimeSpan grace, TimeProvider time)
    {
        long requested = Interlocked.CompareExchange(ref _closeRequestedAt, now, 0);
        if (requested == 0)
        {
            Connection?.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
            return true;
        }

        if (time.GetElapsedTime(requested, now) >= grace)
        {
            Connection?.Abort(new ConnectionAbortedException("idle timeout"));
        }

        return false;
    }
}
