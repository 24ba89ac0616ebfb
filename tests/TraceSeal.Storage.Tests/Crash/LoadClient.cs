using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace TraceSeal.Storage.Tests.Crash;

/// <summary>A trace id as a dictionary key.</summary>
internal readonly record struct TraceKey(ulong High, ulong Low)
{
    public static TraceKey From(ReadOnlySpan<byte> id) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(id), BinaryPrimitives.ReadUInt64BigEndian(id[8..]));

    public byte[] ToBytes()
    {
        var id = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(id, High);
        BinaryPrimitives.WriteUInt64BigEndian(id.AsSpan(8), Low);
        return id;
    }
}

/// <summary>
/// OTLP/HTTP protobuf over mTLS from several concurrent senders; every request carries its own trace id
/// and is recorded as acknowledged only on 200. Senders wait on a gate while the collector is down.
/// </summary>
internal sealed class LoadClient : IDisposable
{
    /// <summary>Spans in every request (one trace); a trace stored whole has a multiple of this.</summary>
    public const int SpansPerRequest = 4;

    private readonly HttpClient _client;
    private readonly ulong _run = BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8));
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Uri? _endpoint;
    private long _next;
    private long _cycleAcks;
    private long _target;
    private long _sent;
    private long _failed;

    public LoadClient(string certs)
    {
        _client = TestSupport.MtlsClient.Create(certs);
    }

    public ConcurrentDictionary<TraceKey, byte> AcknowledgedSet { get; } = new();

    public ConcurrentQueue<TraceKey> Acknowledged { get; } = new();

    public long Sent => Interlocked.Read(ref _sent);

    public long Failed => Interlocked.Read(ref _failed);

    public Task[] Start(int senders) => [.. Enumerable.Range(0, senders).Select(_ => Task.Run(SendLoopAsync))];

    /// <summary>Lets the senders go to <paramref name="endpoint"/>; the task completes after <paramref name="acks"/> more acknowledgements.</summary>
    public Task Open(Uri endpoint, int acks)
    {
        lock (_gate)
        {
            _endpoint = endpoint;
            Interlocked.Exchange(ref _cycleAcks, 0);
            Interlocked.Exchange(ref _target, acks);
            _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _open.TrySetResult();
            return _reached.Task;
        }
    }

    /// <summary>New requests wait; requests in flight run on and meet the kill.</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Cancels requests in flight (never counted as acknowledged) and waits for every sender: afterwards <see cref="Acknowledged"/> is final.</summary>
    public async Task StopAsync(Task[] senders)
    {
        await _stop.CancelAsync();
        await Task.WhenAll(senders);
    }

    public void Dispose()
    {
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task SendLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Task open;
            Uri? endpoint;
            TaskCompletionSource reached;
            lock (_gate)
            {
                open = _open.Task;
                endpoint = _endpoint;
                reached = _reached;
            }

            if (!open.IsCompleted)
            {
                try
                {
                    await open.WaitAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            var key = new TraceKey(_run, (ulong)Interlocked.Increment(ref _next));
            Interlocked.Increment(ref _sent);
            try
            {
                using var content = new ByteArrayContent(Request(key).ToByteArray());
                content.Headers.ContentType = new("application/x-protobuf");
                using var response = await _client.PostAsync(new Uri(endpoint!, "/v1/traces"), content, _stop.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    AcknowledgedSet[key] = 0;
                    Acknowledged.Enqueue(key);
                    if (Interlocked.Increment(ref _cycleAcks) >= Interlocked.Read(ref _target))
                    {
                        reached.TrySetResult();
                    }
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                // The collector was killed under this request: it was never acknowledged, so it is not counted.
                Interlocked.Increment(ref _failed);
            }
        }
    }

    private static ExportTraceServiceRequest Request(TraceKey key)
    {
        var traceId = ByteString.CopyFrom(key.ToBytes());
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "kill9" } };
        ulong start = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000UL;
        for (int i = 0; i < SpansPerRequest; i++)
        {
            var spanId = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(spanId, key.Low * SpansPerRequest + (ulong)i + 1);
            scope.Spans.Add(new Span
            {
                TraceId = traceId,
                SpanId = ByteString.CopyFrom(spanId),
                Name = i == 0 ? "POST /checkout" : "db.query",
                Kind = i == 0 ? Span.Types.SpanKind.Server : Span.Types.SpanKind.Client,
                StartTimeUnixNano = start + (ulong)i,
                EndTimeUnixNano = start + 1_000_000UL,
                Attributes = { new KeyValue { Key = "kill9.request", Value = new AnyValue { IntValue = (long)key.Low } } },
            });
        }

        return new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "kill9" } } } },
                    ScopeSpans = { scope },
                },
            },
        };
    }
}
