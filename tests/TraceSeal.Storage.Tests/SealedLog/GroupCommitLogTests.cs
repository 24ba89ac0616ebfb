using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Tests.TestSupport;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Storage.Tests.SealedLog;

/// <summary>
/// The one group-commit writer (<see cref="GroupCommitLog{TAppend}"/>) on its own, with a recording owner: waiters
/// complete only once their frame is in the file, appends that wait together become one frame (bounded by the
/// frame size), a failed write refuses its whole batch and retires the segment, ingest resumes when the disk has room
/// again, failures are logged by the one policy, and the staging buffer holds no plaintext between frames.
/// </summary>
public sealed class GroupCommitLogTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly LogStore _s = new();
    private readonly List<Owner> _owners = [];
    private Tmpfs? _tmpfs;

    public void Dispose()
    {
        foreach (var owner in _owners)
        {
            owner.Log.StopAsync().Wait(Bound);
            owner.DisposeSegments();
        }

        _tmpfs?.Dispose();
        _s.Dispose();
    }

    private string Dir => Path.Combine(_s.Dir, "log");

    private Owner Start(int maxFrameBytes = 4 << 20, long segmentBytes = 16 << 20, bool fsync = true)
    {
        Directory.CreateDirectory(Dir, StoreFormat.DirMode);
        var settings = new GroupCommitSettings(Dir, StoreFormat.WalExtension, ObjectKind.WalSegment, "acme", _s.Recipients)
        {
            Fsync = fsync,
            MaxFrameBytes = maxFrameBytes,
            SegmentBytes = segmentBytes,
        };
        var owner = new Owner(KeyFiles.LoadIdentity(_s.IdentityFile));
        owner.Log = new GroupCommitLog<LogAppend>(settings, owner, firstSeq: 1);
        owner.Log.Start();
        _owners.Add(owner);
        return owner;
    }

    private static byte[] Payload(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Reserves the record's backlog and appends it (version 1 record, traces).</summary>
    private static Task<LogAppendResult> Append(Owner owner, byte[] payload, bool copy = false)
    {
        long reserve = StoreFormat.RecordSize(payload.Length, consumers: null);
        Assert.True(owner.Log.TryReserve(reserve, long.MaxValue));
        return owner.Log.AppendAsync(new LogAppend(1, payload, consumers: null, reserve, copy));
    }

    [Fact]
    public async Task acknowledges_an_append_only_once_its_frame_is_in_the_file()
    {
        var owner = Start();
        var payload = Payload(10_000, 1);

        Assert.Equal(LogAppendResult.Durable, await Append(owner, payload).WaitAsync(Bound));

        // The owner saw the frame before any waiter completed, and at that moment a reader of the file (another
        // handle) already opened it: the acknowledgement follows the write and its fsync, never precedes them.
        var frame = Assert.Single(owner.Frames);
        Assert.False(frame.AnyCompleted);
        Assert.Equal(payload, Assert.Single(frame.OnDisk));
        var segment = Assert.Single(owner.Opened);
        Assert.Equal(segment.Length, owner.Log.BacklogBytes); // the reservation became the frame's size (and the header)
        Assert.Equal(1, owner.Log.Frames);
        Assert.Equal(1, owner.Log.Appends);
    }

    [Fact]
    public async Task appends_waiting_together_become_one_frame_and_the_staging_buffer_is_cleared_after_it()
    {
        var owner = Start();
        var gate = owner.Hold();
        var payloads = Enumerable.Range(0, 10).Select(i => Payload(3_000 + i, i)).ToArray();
        var pending = new Task<LogAppendResult>[payloads.Length];
        Parallel.For(0, payloads.Length, i => pending[i] = Append(owner, payloads[i]));
        gate.Release.Set();

        Assert.All(await Task.WhenAll(pending).WaitAsync(Bound), r => Assert.Equal(LogAppendResult.Durable, r));
        var frame = Assert.Single(owner.Frames);
        Assert.Equal(10, frame.Appends);
        Assert.Equal(1, owner.Log.Frames);
        Assert.Equal(
            payloads.Select(Convert.ToHexString).Order(),
            frame.OnDisk.Select(Convert.ToHexString).Order());

        var after = owner.Hold();
        try
        {
            Assert.True(owner.Log.Staging.Length >= payloads.Sum(p => p.Length));
            Assert.True(owner.Log.Staging.IndexOfAnyExcept((byte)0) < 0, "the staging buffer still holds plaintext after the frame");
        }
        finally
        {
            after.Release.Set();
        }
    }

    [Fact]
    public async Task a_group_commit_stops_at_the_frame_size_but_takes_at_least_one_append()
    {
        var owner = Start(maxFrameBytes: 1_000);
        var gate = owner.Hold();
        // A record larger than the limit is a frame of its own; then records of 305 bytes: a frame takes appends while
        // it holds less than 1,000 bytes (4 of them).
        var pending = new[] { Append(owner, Payload(5_000, 99)) }.Concat(Enumerable.Range(0, 10).Select(i => Append(owner, Payload(300, i)))).ToArray();
        gate.Release.Set();

        Assert.All(await Task.WhenAll(pending).WaitAsync(Bound), r => Assert.Equal(LogAppendResult.Durable, r));
        Assert.Equal([1, 4, 4, 2], owner.Frames.Select(f => f.Appends));
    }

    [Fact]
    public async Task a_segment_rolls_once_it_reaches_its_size()
    {
        var owner = Start(segmentBytes: 1);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(LogAppendResult.Durable, await Append(owner, Payload(100, i)).WaitAsync(Bound));
        }

        Assert.Equal(3, owner.Opened.Count);
        Assert.Equal(owner.Opened, owner.Retired);
        Assert.Equal([1UL, 2UL, 3UL], owner.Opened.Select(s => s.Seq));
        Assert.All(owner.Retired, s => Assert.Equal(1u, s.Frames));
    }

    [Fact]
    public async Task a_copied_payload_is_what_is_written_even_if_the_caller_reuses_its_buffer()
    {
        var owner = Start();
        var gate = owner.Hold();
        var buffer = Payload(2_000, 5);
        var original = buffer.ToArray();
        var pending = Append(owner, buffer, copy: true);
        Array.Clear(buffer); // the receiver reuses its buffer after the exporter's first await
        gate.Release.Set();

        Assert.Equal(LogAppendResult.Durable, await pending.WaitAsync(Bound));
        Assert.Equal(original, Assert.Single(Assert.Single(owner.Frames).OnDisk));
    }

    [Fact]
    public async Task a_graceful_stop_commits_what_is_queued_retires_the_live_segment_and_refuses_later_appends()
    {
        var owner = Start();
        var gate = owner.Hold();
        var queued = Append(owner, Payload(500, 1));
        var stopped = owner.Log.StopAsync();
        gate.Release.Set();
        await stopped.WaitAsync(Bound);

        Assert.Equal(LogAppendResult.Durable, await queued.WaitAsync(Bound));
        Assert.Equal(owner.Opened, owner.Retired);
        Assert.Equal([false], owner.StoppedCalls);
        long backlog = owner.Log.BacklogBytes;
        Assert.Equal(LogAppendResult.Stopping, await Append(owner, Payload(500, 2)).WaitAsync(Bound));
        Assert.Equal(backlog, owner.Log.BacklogBytes); // the refused append's reservation was released
    }

    [TmpfsFact]
    public async Task a_failed_write_refuses_the_whole_batch_retires_the_segment_and_ingest_resumes_when_space_returns()
    {
        _tmpfs = Tmpfs.Mount(Dir, 1 << 20);
        var owner = Start();
        Assert.Equal(LogAppendResult.Durable, await Append(owner, Payload(100, 0)).WaitAsync(Bound));
        var first = Assert.Single(owner.Opened);
        long backlog = owner.Log.BacklogBytes;
        _tmpfs.Fill();

        // Five appends wait together and fail as one frame: every one is refused, none acknowledged.
        var gate = owner.Hold();
        var pending = Enumerable.Range(1, 5).Select(i => Append(owner, Payload(20_000, i))).ToArray();
        gate.Release.Set();
        Assert.All(await Task.WhenAll(pending).WaitAsync(Bound), r => Assert.Equal(LogAppendResult.WriteFailed, r));
        Assert.Single(owner.Frames);
        Assert.Equal([first], owner.Retired);
        Assert.True(first.IsBroken);
        Assert.True(owner.Log.IsWriteFailing);
        Assert.Equal(backlog, owner.Log.BacklogBytes); // the refused reservations were released
        Assert.Equal(["error 5 requests: IOException"], owner.Logged);

        var held = owner.Hold();
        try
        {
            Assert.True(owner.Log.Staging.IndexOfAnyExcept((byte)0) < 0, "a failed frame's plaintext is left in the staging buffer");
        }
        finally
        {
            held.Release.Set();
        }

        // Still full: refused again, logged at Debug (within 30 s of the Error).
        Assert.Equal(LogAppendResult.WriteFailed, await Append(owner, Payload(20_000, 6)).WaitAsync(Bound));
        Assert.Equal(["error 5 requests: IOException", "debug 1 requests"], owner.Logged);

        // Room again: the next append goes into a new segment; the recovery is logged once.
        _tmpfs.Free();
        var resumed = Payload(20_000, 7);
        Assert.Equal(LogAppendResult.Durable, await Append(owner, resumed).WaitAsync(Bound));
        Assert.Equal(LogAppendResult.Durable, await Append(owner, Payload(100, 8)).WaitAsync(Bound));
        Assert.False(owner.Log.IsWriteFailing);
        Assert.Equal(["error 5 requests: IOException", "debug 1 requests", "recovered"], owner.Logged);
        Assert.Equal(resumed, Assert.Single(owner.Frames[1].OnDisk));
        Assert.NotSame(first, owner.Log.Segment);
    }

    [Fact]
    public void the_failure_policy_logs_the_first_failure_then_one_per_30_seconds_and_a_recovery_only_after_an_error()
    {
        var policy = new FailureLogPolicy();
        Assert.False(policy.Succeeded());
        Assert.True(policy.Failed(1_000));       // first: Error
        Assert.False(policy.Failed(2_000));      // Debug
        Assert.True(policy.IsFailing);
        Assert.True(policy.Succeeded());         // recovery owed after the Error
        Assert.False(policy.Succeeded());        // once
        Assert.False(policy.Failed(10_000));     // a new episode within 30 s of the Error: Debug, across the recovery
        Assert.False(policy.Succeeded());        // no Error since the last recovery line: no recovery line
        Assert.True(policy.Failed(31_000));      // 30 s after the last Error
        Assert.True(policy.Succeeded());
        Assert.False(policy.IsFailing);
    }

    /// <summary>Records every callback; a <see cref="Gate"/> holds the loop until released.</summary>
    private sealed class Owner(IIdentity identity) : IGroupCommitOwner<LogAppend>
    {
        private readonly Lock _lock = new();

        public GroupCommitLog<LogAppend> Log { get; set; } = null!;

        public List<LogSegmentWriter> Opened { get; } = [];

        public List<LogSegmentWriter> Retired { get; } = [];

        public List<(int Appends, bool AnyCompleted, List<byte[]> OnDisk)> Frames { get; } = [];

        public List<string> Logged { get; } = [];

        public List<bool> StoppedCalls { get; } = [];

        /// <summary>Posts a gate and waits until the loop holds on it: appends enqueued now wait together.</summary>
        public Gate Hold()
        {
            var gate = new Gate();
            Assert.True(Log.TryPost(gate));
            Assert.True(gate.Entered.Wait(Bound), "the loop did not reach the gate");
            return gate;
        }

        public void DisposeSegments()
        {
            foreach (var segment in Opened)
            {
                segment.Dispose();
            }
        }

        public void SegmentOpened(LogSegmentWriter segment) => Opened.Add(segment);

        public void FrameCommitted(LogSegmentWriter segment, LogFrame frame, long frameBytes, ReadOnlySpan<LogAppend> batch)
        {
            bool anyCompleted = false;
            foreach (var append in batch)
            {
                anyCompleted |= append.Completion.IsCompleted;
            }

            // This frame's records, read from the file through a handle of its own.
            byte[] file;
            using (var stream = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                file = new byte[stream.Length];
                stream.ReadExactly(file);
            }

            var onDisk = LogReader.ReadAll(file, [identity], LogPlace.Live, out _)
                .Where(r => r.FrameIndex == frame.Index)
                .Select(r => r.Payload.ToArray())
                .ToList();
            Frames.Add((batch.Length, anyCompleted, onDisk));
        }

        public void SegmentRetired(LogSegmentWriter segment) => Retired.Add(segment);

        public void Control(LogItem control)
        {
            var gate = (Gate)control;
            gate.Entered.Set();
            Assert.True(gate.Release.Wait(Bound), "the test did not release the gate");
        }

        public void Stopped(bool crashed) => StoppedCalls.Add(crashed);

        public void WriteFailed(int appends, Exception exception) => Record($"error {appends} requests: {exception.GetType().Name}");

        public void WriteStillFailing(int appends) => Record($"debug {appends} requests");

        public void WriteRecovered() => Record("recovered");

        private void Record(string line)
        {
            lock (_lock)
            {
                Logged.Add(line);
            }
        }
    }

    private sealed class Gate : LogItem
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();
    }
}
