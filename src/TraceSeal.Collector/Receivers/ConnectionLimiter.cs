using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;

namespace TraceSeal.Collector.Receivers;

/// <summary>Why a guard closed a connection (refused it, or closed it for flooding or idling). Values index counters: append only.</summary>
internal enum ConnectionRefusal
{
    /// <summary>`limits::max_connections` connections were already open.</summary>
    MaxConnections = 0,

    /// <summary>`limits::max_connections_per_address` connections from the same client address were already open.</summary>
    MaxConnectionsPerAddress = 1,

    /// <summary>More HTTP/2 PING/SETTINGS frames than <see cref="Http2ControlFrameGuard"/> allows.</summary>
    Http2ControlFrameFlood = 2,

    /// <summary>No request in flight for `limits::idle_timeout` (closed gracefully, then aborted).</summary>
    IdleTimeout = 3,
}

internal static class ConnectionRefusals
{
    public const int Count = 4;

    public static string Label(ConnectionRefusal refusal) => refusal switch
    {
        ConnectionRefusal.MaxConnections => "max_connections",
        ConnectionRefusal.MaxConnectionsPerAddress => "max_connections_per_address",
        ConnectionRefusal.Http2ControlFrameFlood => "http2_control_frame_flood",
        _ => "idle_timeout",
    };
}

/// <summary>
/// Connections open at once, in total and per client IP address (`limits::max_connections`,
/// `limits::max_connections_per_address`), counted from accept to close across both protocols of a receiver.
/// A connection over a limit is closed at once, before its TLS handshake costs anything (the refusal a client
/// without a handshake can get: the TCP connection closes), counted and logged (rate-limited). The per-address
/// limit keeps one flooding address from taking the global limit from everyone else.
/// </summary>
internal sealed class ConnectionLimiter
{
    private readonly int _max;
    private readonly int _maxPerAddress;
    private readonly ConcurrentDictionary<IPAddress, StrongBox<int>> _perAddress = new();
    private int _open;

    /// <param name="max">0 = no global limit.</param>
    /// <param name="maxPerAddress">0 = no per-address limit.</param>
    public ConnectionLimiter(int max, int maxPerAddress)
    {
        _max = max;
        _maxPerAddress = maxPerAddress;
    }

    public int Open => Volatile.Read(ref _open);

    /// <summary>Counts a new connection in, or says which limit it is over (then nothing is counted).</summary>
    public ConnectionRefusal? TryAcquire(IPAddress? address)
    {
        if (Interlocked.Increment(ref _open) > _max && _max > 0)
        {
            Interlocked.Decrement(ref _open);
            return ConnectionRefusal.MaxConnections;
        }

        if (_maxPerAddress > 0 && address is not null)
        {
            while (true)
            {
                StrongBox<int> box = _perAddress.GetOrAdd(Normalize(address), static _ => new StrongBox<int>());
                lock (box)
                {
                    if (box.Value < 0)
                    {
                        continue; // removed by a concurrent release; take a fresh one
                    }

                    if (box.Value >= _maxPerAddress)
                    {
                        Interlocked.Decrement(ref _open);
                        return ConnectionRefusal.MaxConnectionsPerAddress;
                    }

                    box.Value++;
                    return null;
                }
            }
        }

        return null;
    }

    /// <summary>Counts a connection out; call once per successful <see cref="TryAcquire"/>.</summary>
    public void Release(IPAddress? address)
    {
        Interlocked.Decrement(ref _open);
        if (_maxPerAddress > 0 && address is not null)
        {
            IPAddress key = Normalize(address);
            if (_perAddress.TryGetValue(key, out StrongBox<int>? box))
            {
                lock (box)
                {
                    if (--box.Value == 0)
                    {
                        // Mark dead before removing, so a concurrent acquire never counts into a removed box.
                        box.Value = -1;
                        _perAddress.TryRemove(new KeyValuePair<IPAddress, StrongBox<int>>(key, box));
                    }
                }
            }
        }
    }

    /// <summary>Open connections from <paramref name="address"/> (tests).</summary>
    public int OpenFrom(IPAddress address) => _perAddress.TryGetValue(Normalize(address), out StrongBox<int>? box) ? Math.Max(0, Volatile.Read(ref box.Value)) : 0;

    // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d; it is the same client as a.b.c.d.
    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
