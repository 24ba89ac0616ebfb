using System.Buffers.Binary;
using System.IO.Compression;
using System.Net.Http.Headers;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Telemetry;
using TraceSeal.OpenTelemetry.Transport;

namespace TraceSeal.OpenTelemetry.Buffering;

/// <summary>
/// The outermost handler when the disk buffer is on: it sees each export request the upstream exporter sends
/// (its body is the serialized OTLP request) and the final outcome after <see cref="RetryHandler"/>. A request
/// that finally failed for a retryable reason (transport failure, deadline, 429/502/503/504, retryable gRPC
/// status) is written to the <see cref="DiskBuffer"/>: the bare Export*ServiceRequest, without the gRPC 5-byte
/// prefix and decompressed, so a batch buffered over one protocol can be re-sent over the other after a restart.
/// TLS refusals and permanent rejections are not buffered (sending them again cannot help).
/// <para>After each successful export a background task re-sends the buffered batches, oldest first, through
/// the same retry handler and transport, framed like that successful request (URL, HTTP version, headers,
/// compression), and deletes each once the collector accepted it. Delivery is at least once: a batch whose
/// acknowledgement is lost is sent again.</para>
/// </summary>
internal sealed class BufferingHandler : DelegatingHandler
{
    private readonly ExporterContext _context;
    private readonly DiskBuffer _buffer;
    private readonly HttpMessageInvoker _replay;
    /// <summary>
    /// While batches wait on disk, how often the collector is probed with the oldest one even if the app exports
    /// nothing new: a single live export lost to a deadline (or an idle app) must not strand the backlog.
    /// </summary>
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _kick = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _replayer;
    private RequestTemplate? _template;
    private long _batchItems;
    private int _buffered;
    private int _disposed;

    public BufferingHandler(RetryHandler inner, DiskBuffer buffer, ExporterContext context)
        : base(inner)
    {
        _context = context;
        _buffer = buffer;
        _replay = new HttpMessageInvoker(inner, disposeHandler: false);
        _replayer = Task.Run(ReplayLoopAsync);
    }

    public DiskBuffer Buffer => _buffer;

    /// <summary>Called by the exporter before each batch (exports of one exporter never overlap).</summary>
    public void BeginBatch(long items)
    {
        Volatile.Write(ref _batchItems, items);
        Volatile.Write(ref _buffered, 0);
    }

    /// <summary>True when the batch just exported failed and was written to the buffer (so it is not lost).</summary>
    public bool EndBatch() => Interlocked.Exchange(ref _buffered, 0) == 1;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        byte[]? wire = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRetryable(e))
        {
            Keep(request, wire, Reason(e));
            throw;
        }

        return Finished(request, wire, response);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        byte[]? wire = null;
        if (request.Content is not null)
        {
            using var copy = new MemoryStream();
            request.Content.ReadAsStream(cancellationToken).CopyTo(copy);
            wire = copy.ToArray();
        }

        HttpResponseMessage response;
        try
        {
            response = base.Send(request, cancellationToken);
        }
        catch (Exception e) when (IsRetryable(e))
        {
            Keep(request, wire, Reason(e));
            throw;
        }

        return Finished(request, wire, response);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stop.Cancel();
            try
            {
                _replayer.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // Cancelled.
            }

            _replay.Dispose();
            _buffer.Dispose();
            _kick.Dispose();
            _stop.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsRetryable(Exception e) => e switch
    {
        // A refused handshake (the validator's verdict, or any TLS failure) is not an outage.
        HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } => false,
        HttpRequestException => true,
        TimeoutException => true,
        OperationCanceledException => true,
        _ => false,
    };

    private static string Reason(Exception e) => e is TimeoutException or OperationCanceledException ? "deadline exceeded" : "collector unreachable";

    private HttpResponseMessage Finished(HttpRequestMessage request, byte[]? wire, HttpResponseMessage response)
    {
        bool grpc = RetryPolicy.IsGrpc(request);
        RetryDecision decision = grpc ? RetryPolicy.ClassifyGrpc(response) : RetryPolicy.ClassifyHttp(response);
        if (decision.Done)
        {
            Volatile.Write(ref _template, RequestTemplate.From(request, grpc));
            Kick();
        }
        else if (decision.Retry)
        {
            Keep(request, wire, decision.Reason);
        }

        return response;
    }

    private void Keep(HttpRequestMessage request, byte[]? wire, string reason)
    {
        byte[]? body = wire is null ? null : RequestTemplate.Unframe(request, RetryPolicy.IsGrpc(request), wire);
        if (body is null)
        {
            return;
        }

        // The framing (URL, headers, compression) is known from this attempt too, so the probe can replay even
        // if no export of this run has succeeded yet.
        Interlocked.CompareExchange(ref _template, RequestTemplate.From(request, RetryPolicy.IsGrpc(request)), null);
        long items = Volatile.Read(ref _batchItems);
        if (_buffer.Write(body, items))
        {
            Volatile.Write(ref _buffered, 1);
            SecureOtlpMetrics.Buffered.Add(1, _context.SignalTag);
            SecureOtlpLog.ExportBuffered(_context.Logger, items, _context.Signal, reason);
        }
    }

    private void Kick()
    {
        try
        {
            if (_kick.CurrentCount == 0)
            {
                _kick.Release();
            }
        }
        catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
        {
            // Already signalled, or shutting down.
        }
    }

    private async Task ReplayLoopAsync()
    {
        CancellationToken stop = _stop.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                bool kicked = await _kick.WaitAsync(ProbeInterval, stop).ConfigureAwait(false);
                if (!kicked && _buffer.Pending().Count == 0)
                {
                    continue;
                }

                var tried = new HashSet<string>(StringComparer.Ordinal);
                while (!stop.IsCancellationRequested && Volatile.Read(ref _template) is { } template)
                {
                    BufferedBatch? batch = _buffer.Next(tried);
                    if (batch is null)
                    {
                        break;
                    }

                    tried.Add(batch.Path);
                    if (!await ResendAsync(batch, template, stop).ConfigureAwait(false))
                    {
                        break;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down; what is left is re-sent by the next run.
        }
    }

    /// <summary>False when the collector is not taking batches now (the pass stops).</summary>
    private async Task<bool> ResendAsync(BufferedBatch batch, RequestTemplate template, CancellationToken stop)
    {
        RetryDecision decision;
        try
        {
            using HttpRequestMessage request = template.Create(batch.Body);
            using HttpResponseMessage response = await _replay.SendAsync(request, stop).ConfigureAwait(false);
            if (template.Grpc && response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                await response.Content.LoadIntoBufferAsync(stop).ConfigureAwait(false);
            }

            decision = template.Grpc ? RetryPolicy.ClassifyGrpc(response) : RetryPolicy.ClassifyHttp(response);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException || (e is OperationCanceledException && !stop.IsCancellationRequested))
        {
            decision = RetryDecision.Transient(e.Message);
        }

        if (decision.Done)
        {
            _buffer.Remove(batch);
            SecureOtlpMetrics.Replayed.Add(1, _context.SignalTag);
            SecureOtlpLog.BufferReplayed(_context.Logger, _context.Signal, batch.Name, batch.Items, _buffer.Pending().Count);
            return true;
        }

        if (decision.Retry)
        {
            _buffer.Release();
            SecureOtlpLog.BufferReplayDeferred(_context.Logger, _context.Signal, batch.Name, decision.Reason);
            return false;
        }

        // Refused for good (e.g. 400): it will never be accepted.
        _buffer.Remove(batch);
        SecureOtlpMetrics.BufferDropped.Add(1, _context.SignalTag, SecureOtlpMetrics.Reason("rejected"));
        SecureOtlpLog.BufferDropped(_context.Logger, _context.Signal, batch.Name, "the collector refused it permanently: " + decision.Reason);
        return true;
    }

    /// <summary>How the last successful request was sent: replays are framed the same way.</summary>
    private sealed class RequestTemplate
    {
        private readonly List<KeyValuePair<string, string[]>> _headers;
        private readonly List<KeyValuePair<string, string[]>> _contentHeaders;

        private RequestTemplate(HttpRequestMessage request, bool grpc)
        {
            Uri = request.RequestUri!;
            Version = request.Version;
            VersionPolicy = request.VersionPolicy;
            Grpc = grpc;
            _headers = request.Headers.Select(h => new KeyValuePair<string, string[]>(h.Key, h.Value.ToArray())).ToList();
            _contentHeaders = request.Content?.Headers
                .Where(h => !string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
                .Select(h => new KeyValuePair<string, string[]>(h.Key, h.Value.ToArray())).ToList() ?? [];
            Gzip = grpc
                ? Header(request.Headers, "grpc-encoding") is { } e && e.Equals("gzip", StringComparison.OrdinalIgnoreCase)
                : request.Content?.Headers.ContentEncoding.Contains("gzip", StringComparer.OrdinalIgnoreCase) == true;
        }

        public bool Grpc { get; }

        private Uri Uri { get; }

        private Version Version { get; }

        private HttpVersionPolicy VersionPolicy { get; }

        private bool Gzip { get; }

        public static RequestTemplate From(HttpRequestMessage request, bool grpc) => new(request, grpc);

        /// <summary>The bare serialized request from a wire body: gRPC prefix removed, decompressed. Null when it cannot be read.</summary>
        public static byte[]? Unframe(HttpRequestMessage request, bool grpc, byte[] wire)
        {
            if (grpc)
            {
                if (wire.Length < 5 || BinaryPrimitives.ReadUInt32BigEndian(wire.AsSpan(1)) != (uint)(wire.Length - 5))
                {
                    return null;
                }

                byte[] message = wire[5..];
                return wire[0] switch
                {
                    0 => message,
                    1 when Header(request.Headers, "grpc-encoding") is { } e && e.Equals("gzip", StringComparison.OrdinalIgnoreCase) => Gunzip(message),
                    _ => null,
                };
            }

            ICollection<string>? encoding = request.Content?.Headers.ContentEncoding;
            if (encoding is null || encoding.Count == 0)
            {
                return wire;
            }

            return encoding.Count == 1 && encoding.Contains("gzip", StringComparer.OrdinalIgnoreCase) ? Gunzip(wire) : null;
        }

        public HttpRequestMessage Create(byte[] body)
        {
            byte[] payload = Gzip ? Compress(body) : body;
            byte[] wire = payload;
            if (Grpc)
            {
                wire = new byte[payload.Length + 5];
                wire[0] = Gzip ? (byte)1 : (byte)0;
                BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(1), (uint)payload.Length);
                payload.CopyTo(wire, 5);
            }

            var request = new HttpRequestMessage(HttpMethod.Post, Uri)
            {
                Version = Version,
                VersionPolicy = VersionPolicy,
                Content = new ByteArrayContent(wire),
            };
            foreach (KeyValuePair<string, string[]> header in _headers)
            {
                request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            foreach (KeyValuePair<string, string[]> header in _contentHeaders)
            {
                request.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            return request;
        }

        private static string? Header(HttpHeaders headers, string name) =>
            headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

        private static byte[]? Gunzip(byte[] data)
        {
            try
            {
                using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
                using var output = new MemoryStream();
                input.CopyTo(output);
                return output.ToArray();
            }
            catch (InvalidDataException)
            {
                return null;
            }
        }

        private static byte[] Compress(byte[] data)
        {
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(data);
            }

            return output.ToArray();
        }
    }
}
