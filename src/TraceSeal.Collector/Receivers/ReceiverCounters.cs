using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using TraceSeal.Collector.Tls;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// Lock-free counters of one receiver (both protocols): what was accepted, what was refused and why, which
/// TLS handshakes failed and why. Read by metrics and by tests.
/// </summary>
internal sealed class ReceiverCounters
{
    private readonly long[] _refused = new long[OtlpStatusTable.Count];
    private readonly long[] _handshakeFailures = new long[HandshakeFailures.Count];
    private readonly long[] _connectionsRefused = new long[ConnectionRefusals.Count];
    private long _requestsFailed;
    private long _requestsAccepted;
    private long _itemsAccepted;

    // Tenants are few and long-lived: one dictionary lookup per request, then an interlocked add.
    private readonly ConcurrentDictionary<string, StrongBox<long>> _itemsByTenant = new(StringComparer.Ordinal);

    public long RequestsAccepted => Interlocked.Read(ref _requestsAccepted);

    public long ItemsAccepted => Interlocked.Read(ref _itemsAccepted);

    public long Refused(ReceiveFailure failure) => Interlocked.Read(ref _refused[(int)failure]);

    /// <summary>Connections closed by a guard (limits, HTTP/2 control frame flood), by reason.</summary>
    public long ConnectionsRefused(ConnectionRefusal refusal) => Interlocked.Read(ref _connectionsRefused[(int)refusal]);

    /// <summary>Requests that hit an unexpected exception (a bug) and were answered 500.</summary>
    public long RequestsFailed => Interlocked.Read(ref _requestsFailed);

    public long HandshakeFailed(HandshakeFailure failure) => Interlocked.Read(ref _handshakeFailures[(int)failure]);

    /// <summary>By label, e.g. <c>no_client_certificate</c>; 0 for unknown labels.</summary>
    public long HandshakeFailed(string label) => HandshakeFailures.TryParse(label, out HandshakeFailure f) ? HandshakeFailed(f) : 0;

    public long TotalHandshakeFailures
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _handshakeFailures.Length; i++)
            {
                total += Interlocked.Read(ref _handshakeFailures[i]);
            }

            return total;
        }
    }

    /// <summary>Items accepted per tenant (self-telemetry label).</summary>
    public IEnumerable<KeyValuePair<string, long>> ItemsAcceptedByTenant =>
        _itemsByTenant.Select(t => new KeyValuePair<string, long>(t.Key, Interlocked.Read(ref t.Value.Value)));

    internal void OnAccepted(int items)
    {
        Interlocked.Increment(ref _requestsAccepted);
        Interlocked.Add(ref _itemsAccepted, items);
    }

    internal void OnAccepted(int items, string tenant)
    {
        OnAccepted(items);
        Interlocked.Add(ref _itemsByTenant.GetOrAdd(tenant, static _ => new StrongBox<long>()).Value, items);
    }

    internal void OnRefused(ReceiveFailure failure) => Interlocked.Increment(ref _refused[(int)failure]);

    internal void OnConnectionRefused(ConnectionRefusal refusal) => Interlocked.Increment(ref _connectionsRefused[(int)refusal]);

    internal void OnRequestFailed() => Interlocked.Increment(ref _requestsFailed);

    internal void OnHandshakeFailed(HandshakeFailure failure) => Interlocked.Increment(ref _handshakeFailures[(int)failure]);
}
