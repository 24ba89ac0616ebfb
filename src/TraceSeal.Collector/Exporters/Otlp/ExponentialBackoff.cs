using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// Exponential backoff with jitter, as upstream's exporterhelper (cenkalti/backoff): the n-th wait is drawn
/// uniformly from interval × [1 − randomization_factor, 1 + randomization_factor], then the interval grows by
/// multiplier up to max_interval. Jitter spreads the retries of many collectors after a shared outage.
/// One instance per export call; not thread-safe.
/// </summary>
internal sealed class ExponentialBackoff(RetrySettings settings, Func<double> random)
{
    private double _currentMs = settings.InitialInterval.TotalMilliseconds;

    /// <summary>The next wait; <paramref name="serverDelay"/> (RetryInfo / Retry-After) is a floor: never retry earlier than the server asked.</summary>
    public TimeSpan Next(TimeSpan? serverDelay = null)
    {
        double delta = settings.RandomizationFactor * _currentMs;
        double min = _currentMs - delta;
        double waitMs = min + (random() * 2 * delta);
        _currentMs = Math.Min(_currentMs * settings.Multiplier, settings.MaxInterval.TotalMilliseconds);
        TimeSpan wait = TimeSpan.FromMilliseconds(Math.Max(0, waitMs));
        return serverDelay is { } server && server > wait ? server : wait;
    }
}
