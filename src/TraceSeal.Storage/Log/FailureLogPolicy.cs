namespace TraceSeal.Storage.Log;

/// <summary>
/// The one failure-logging policy of the storage loops (group commits, block cuts, segment closes): a full disk fails
/// every write, and must not also flood the log. The first failure is logged at Error (with its exception), then at
/// most one per <see cref="IntervalMs"/>, across recoveries (a disk that keeps filling and freeing logs one Error per
/// interval, not one per flip); the others at Debug. After an Error, the first success is logged once ("succeeds
/// again"); a success after failures that were only logged at Debug is not.
/// The caller logs with its own messages and event ids; this class only says which line is due. Thread-safe: a
/// writer loop reports failures while another loop (a disk probe) may report the success.
/// </summary>
internal sealed class FailureLogPolicy
{
    /// <summary>At most one Error line per this many milliseconds.</summary>
    public const long IntervalMs = 30_000;

    private readonly Lock _lock = new();
    private volatile bool _failing;
    private long _lastError = long.MinValue / 2;
    private bool _recoveryOwed;

    /// <summary>From a failure until the next success.</summary>
    public bool IsFailing => _failing;

    /// <summary>A failure at <paramref name="nowMs"/> (<see cref="Environment.TickCount64"/>): true when it is to be logged at Error, false at Debug.</summary>
    public bool Failed(long nowMs)
    {
        lock (_lock)
        {
            _failing = true;
            if (nowMs - _lastError < IntervalMs)
            {
                return false;
            }

            _lastError = nowMs;
            _recoveryOwed = true;
            return true;
        }
    }

    /// <summary>A success: true once after failures of which one was logged at Error (the caller logs the recovery). Cheap while nothing fails.</summary>
    public bool Succeeded()
    {
        if (!_failing)
        {
            return false;
        }

        lock (_lock)
        {
            _failing = false;
            bool owed = _recoveryOwed;
            _recoveryOwed = false;
            return owed;
        }
    }
}
