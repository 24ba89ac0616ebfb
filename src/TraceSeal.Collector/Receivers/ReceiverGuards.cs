using System.Collections.Concurrent;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// What holds a receiver against clients that have a valid certificate but misbehave (issue 14), shared by its
/// listeners: connection limits (<see cref="ConnectionLimiter"/>), per-tenant quotas (<see cref="TenantQuotas"/>)
/// and the per-key rate limit of refusal log lines (<see cref="RefusalLogLimiter"/>).
/// </summary>
internal sealed class ReceiverGuards : IDisposable
{
    private readonly ConcurrentDictionary<ConnectionState, ProtocolListener> _open = new();
    private readonly TimeProvider _time;
    private ITimer? _idleSweep;

    public ReceiverGuards(OtlpReceiverSettings settings, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _time = time ?? TimeProvider.System;
        Settings = settings.Limits;
        Connections = new ConnectionLimiter(Settings.MaxConnections, Settings.MaxConnectionsPerAddress);
        Quotas = new TenantQuotas(settings, time);
        RefusalLog = new RefusalLogLimiter(time);
    }

    public ReceiverLimitSettings Settings { get; }

    public ConnectionLimiter Connections { get; }

    public TenantQuotas Quotas { get; }

    public RefusalLogLimiter RefusalLog { get; }

    /// <summary>
    /// Starts the idle sweep: every quarter of `limits::idle_timeout` (0.1-5 s), a connection with no request in
    /// flight for idle_timeout is closed. Kestrel's own keep-alive timeout does the same for a silent connection,
    /// but any frame resets it — a client sending a PING every few seconds (under the flood guard) would hold its
    /// connection forever without a request. This sweep counts requests, not frames.
    /// </summary>
    public void StartIdleSweep()
    {
        TimeSpan period = TimeSpan.FromTicks(Math.Clamp(Settings.IdleTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond * 5));
        _idleSweep ??= _time.CreateTimer(static s => ((ReceiverGuards)s!).SweepIdle(), this, period, period);
    }

    public void Track(ConnectionState state)
    {
        state.Opened(_time.GetTimestamp());
        _open[state] = state.Listener;
    }

    public void Untrack(ConnectionState state) => _open.TryRemove(state, out _);

    public long Now => _time.GetTimestamp();

    /// <summary>One pass of the idle sweep (the timer's; tests call it directly).</summary>
    public void SweepIdle()
    {
        long now = _time.GetTimestamp();
        foreach (var (state, listener) in _open)
        {
            if (state.ActiveRequests == 0 && _time.GetElapsedTime(state.LastActivity, now) >= Settings.IdleTimeout
                && state.CloseIdle(now, Settings.IdleTimeout, _time))
            {
                listener.Counters.OnConnectionRefused(ConnectionRefusal.IdleTimeout);
            }
        }
    }

    public void Dispose() => _idleSweep?.Dispose();
}
