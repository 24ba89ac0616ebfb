using System.Diagnostics;
using System.Security.Authentication;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Telemetry;

namespace TraceSeal.OpenTelemetry.Transport;

/// <summary>
/// Retries one export request per <see cref="RetryPolicy"/> until it succeeds, fails permanently, or the
/// deadline (OTEL_EXPORTER_OTLP_TIMEOUT, all attempts and waits included) would pass. Sits between the
/// upstream exporter's HttpClient and the TLS transport, so it sees HTTP statuses, gRPC trailers and
/// handshake failures; the upstream exporter sees one final result.
/// <para>TLS refusals are never retried: a certificate that is wrong now is wrong in a second too. The
/// request is rethrown as an <see cref="HttpRequestException"/> carrying the precise reason.</para>
/// </summary>
internal sealed class RetryHandler : DelegatingHandler
{
    private readonly ExporterContext _context;
    private readonly ReloadingTransport _transport;

    public RetryHandler(ReloadingTransport transport, ExporterContext context)
        : base(transport)
    {
        _transport = transport;
        _context = context;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        bool grpc = RetryPolicy.IsGrpc(request);
        var clock = Stopwatch.StartNew();
        TimeSpan deadline = _context.Settings.Timeout;
        for (int attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            RetryDecision decision;
            Exception? failure = null;
            using (var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                attemptCts.CancelAfter(Remaining(deadline, clock));
                try
                {
                    response = await base.SendAsync(request, attemptCts.Token).ConfigureAwait(false);
                    if (grpc && response.StatusCode == System.Net.HttpStatusCode.OK)
                    {
                        // gRPC puts the status in trailers, which arrive after the (small) body.
                        await response.Content.LoadIntoBufferAsync(attemptCts.Token).ConfigureAwait(false);
                    }

                    decision = grpc ? RetryPolicy.ClassifyGrpc(response) : RetryPolicy.ClassifyHttp(response);
                }
                catch (HttpRequestException e)
                {
                    response?.Dispose();
                    response = null;
                    failure = Translate(e);
                    decision = failure is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError }
                        ? RetryDecision.Permanent("TLS: " + failure.Message)
                        : RetryDecision.Transient("transport: " + e.Message);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    response?.Dispose();
                    response = null;
                    failure = new TimeoutException($"no answer within the export deadline of {deadline.TotalMilliseconds:0} ms ({_context.Settings.EndpointSource})", e);
                    decision = RetryDecision.Permanent("deadline exceeded");
                }
            }

            if (Finish(decision, attempt, clock, deadline, out TimeSpan delay))
            {
                if (failure is not null)
                {
                    throw failure;
                }

                return response!;
            }

            response?.Dispose();
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // The upstream exporter sends OTLP/HTTP synchronously (gRPC always goes through SendAsync).
        if (RetryPolicy.IsGrpc(request))
        {
            return SendAsync(request, cancellationToken).GetAwaiter().GetResult();
        }

        var clock = Stopwatch.StartNew();
        TimeSpan deadline = _context.Settings.Timeout;
        for (int attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            RetryDecision decision;
            Exception? failure = null;
            using (var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                attemptCts.CancelAfter(Remaining(deadline, clock));
                try
                {
                    response = base.Send(request, attemptCts.Token);
                    decision = RetryPolicy.ClassifyHttp(response);
                }
                catch (HttpRequestException e)
                {
                    failure = Translate(e);
                    decision = failure is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError }
                        ? RetryDecision.Permanent("TLS: " + failure.Message)
                        : RetryDecision.Transient("transport: " + e.Message);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = new TimeoutException($"no answer within the export deadline of {deadline.TotalMilliseconds:0} ms ({_context.Settings.EndpointSource})", e);
                    decision = RetryDecision.Permanent("deadline exceeded");
                }
            }

            if (Finish(decision, attempt, clock, deadline, out TimeSpan delay))
            {
                if (failure is not null)
                {
                    throw failure;
                }

                return response!;
            }

            response?.Dispose();
            if (cancellationToken.WaitHandle.WaitOne(delay))
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>True when the attempt's outcome is final; else the delay before the next attempt.</summary>
    private bool Finish(RetryDecision decision, int attempt, Stopwatch clock, TimeSpan deadline, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        if (decision.Done)
        {
            return true;
        }

        if (!decision.Retry)
        {
            SecureOtlpLog.ExportFailed(_context.Logger, _context.Signal, attempt, decision.Reason);
            return true;
        }

        delay = decision.ServerDelay ?? RetryPolicy.Backoff(attempt, _context.Options.InitialRetryBackoff, _context.Options.MaxRetryBackoff, Random.Shared.NextDouble());
        if (clock.Elapsed + delay >= deadline)
        {
            // Waiting would end past the deadline: give up now rather than send a request that cannot finish in time.
            SecureOtlpLog.ExportFailed(_context.Logger, _context.Signal, attempt, $"{decision.Reason}; the next attempt (in {delay.TotalMilliseconds:0} ms) would pass the {deadline.TotalMilliseconds:0} ms deadline");
            return true;
        }

        SecureOtlpMetrics.Retried.Add(1, _context.SignalTag, SecureOtlpMetrics.Reason(decision.Reason));
        SecureOtlpLog.Retrying(_context.Logger, _context.Signal, attempt, decision.Reason, (long)delay.TotalMilliseconds);
        return false;
    }

    /// <summary>A handshake the validator refused becomes an exception with its precise reason.</summary>
    private Exception Translate(HttpRequestException e)
    {
        if (!HasAuthenticationFailure(e))
        {
            return e;
        }

        SecureOtlpTlsException? refusal = _transport.TakeLastRefusal();
        return refusal is not null
            ? new HttpRequestException(HttpRequestError.SecureConnectionError, refusal.Message, refusal)
            : new HttpRequestException(HttpRequestError.SecureConnectionError, $"TLS handshake with {_context.Settings.Endpoint.Authority} failed: {Innermost(e).Message}", e);
    }

    private static bool HasAuthenticationFailure(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            if (current is AuthenticationException)
            {
                return true;
            }
        }

        return e is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError };
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    private static TimeSpan Remaining(TimeSpan deadline, Stopwatch clock)
    {
        TimeSpan left = deadline - clock.Elapsed;
        return left > TimeSpan.FromMilliseconds(1) ? left : TimeSpan.FromMilliseconds(1);
    }
}
