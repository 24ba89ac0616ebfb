using System.Net.Http.Headers;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Exporters;

public sealed class BackoffAndStatusTests
{
    [Fact]
    public void Backoff_grows_by_the_multiplier_up_to_max_interval_with_upstream_defaults()
    {
        var backoff = new ExponentialBackoff(new RetrySettings(), () => 0.5); // 0.5 = the middle of the jitter range
        double[] seconds = [.. Enumerable.Range(0, 7).Select(_ => backoff.Next().TotalSeconds)];
        Assert.Equal([5, 7.5, 11.25, 16.875, 25.3125, 30, 30], seconds);
    }

    [Theory]
    [InlineData(0.0, 2.5)] // interval × (1 − 0.5)
    [InlineData(1.0, 7.5)] // interval × (1 + 0.5)
    public void Jitter_spans_the_randomization_factor(double random, double expectedSeconds) =>
        Assert.Equal(expectedSeconds, new ExponentialBackoff(new RetrySettings(), () => random).Next().TotalSeconds);

    [Fact]
    public void A_server_delay_is_a_floor_never_a_shortcut()
    {
        var backoff = new ExponentialBackoff(new RetrySettings(), () => 0.5);
        Assert.Equal(TimeSpan.FromSeconds(12), backoff.Next(TimeSpan.FromSeconds(12)));
        Assert.Equal(TimeSpan.FromSeconds(7.5), backoff.Next(TimeSpan.Zero));
    }

    [Fact]
    public void Retry_after_reads_seconds_and_http_dates()
    {
        DateTimeOffset now = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(3), UpstreamStatus.RetryAfter(RetryConditionHeaderValue.Parse("3"), now));
        Assert.Equal(TimeSpan.FromSeconds(10), UpstreamStatus.RetryAfter(RetryConditionHeaderValue.Parse("Wed, 01 Jan 2025 12:00:10 GMT"), now));
        Assert.Equal(TimeSpan.Zero, UpstreamStatus.RetryAfter(RetryConditionHeaderValue.Parse("Wed, 01 Jan 2025 11:00:00 GMT"), now));
        Assert.Null(UpstreamStatus.RetryAfter(null, now));
    }

    [Fact]
    public void Grpc_status_details_yield_retry_info_even_without_base64_padding()
    {
        string details = Convert.ToBase64String(RpcStatus.ToProtobuf(GrpcCodes.Unavailable, "busy", TimeSpan.FromSeconds(2))).TrimEnd('=');
        Assert.True(UpstreamStatus.TryReadDetails(details, out var status, out var delay));
        Assert.Equal("busy", status!.Message);
        Assert.Equal(TimeSpan.FromSeconds(2), delay);

        Assert.True(UpstreamStatus.TryReadDetails(Convert.ToBase64String(RpcStatus.ToProtobuf(GrpcCodes.Unavailable, "busy")), out _, out var none));
        Assert.Null(none);
        Assert.False(UpstreamStatus.TryReadDetails("%%%not base64", out _, out _));
    }

    [Fact]
    public void Upstream_messages_are_bounded_and_cannot_forge_log_lines()
    {
        Assert.Equal("a b", UpstreamStatus.Truncate("a\nb"));
        Assert.Equal(UpstreamStatus.MaxMessageChars + 1, UpstreamStatus.Truncate(new string('x', 10_000)).Length);
    }
}
