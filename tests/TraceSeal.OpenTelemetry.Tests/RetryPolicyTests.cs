using System.Net;
using System.Net.Http.Headers;
using TraceSeal.OpenTelemetry.Transport;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>The retry table of the OTLP specification, pinned.</summary>
public sealed class RetryPolicyTests
{
    [Theory]
    [InlineData(429, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(500, false)]
    public void Http_statuses(int status, bool retryable)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status);
        RetryDecision decision = RetryPolicy.ClassifyHttp(response);
        Assert.False(decision.Done);
        Assert.Equal(retryable, decision.Retry);
    }

    [Fact]
    public void A_2xx_is_final_even_with_partial_success()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        Assert.True(RetryPolicy.ClassifyHttp(response).Done);
    }

    [Fact]
    public void Retry_after_seconds_is_honoured()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
        Assert.Equal(TimeSpan.FromSeconds(7), RetryPolicy.ClassifyHttp(response).ServerDelay);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(4, true)]
    [InlineData(10, true)]
    [InlineData(11, true)]
    [InlineData(14, true)]
    [InlineData(15, true)]
    [InlineData(8, false)]
    [InlineData(3, false)]
    [InlineData(7, false)]
    [InlineData(16, false)]
    [InlineData(13, false)]
    public void Grpc_codes(int code, bool retryable)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        response.TrailingHeaders.Add("grpc-status", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(retryable, RetryPolicy.ClassifyGrpc(response).Retry);
    }

    [Fact]
    public void Resource_exhausted_is_retried_only_with_RetryInfo_and_its_delay_is_used()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        response.TrailingHeaders.Add("grpc-status", "8");
        response.TrailingHeaders.Add("grpc-status-details-bin", Convert.ToBase64String(StatusWithRetryInfo(seconds: 2, nanos: 500_000_000)).TrimEnd('='));
        RetryDecision decision = RetryPolicy.ClassifyGrpc(response);
        Assert.True(decision.Retry);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), decision.ServerDelay);
    }

    [Fact]
    public void Backoff_grows_and_is_capped()
    {
        TimeSpan initial = TimeSpan.FromSeconds(1);
        TimeSpan max = TimeSpan.FromSeconds(5);
        Assert.Equal(TimeSpan.FromMilliseconds(1000), RetryPolicy.Backoff(1, initial, max, jitter: 1));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), RetryPolicy.Backoff(2, initial, max, jitter: 1));
        Assert.Equal(TimeSpan.FromMilliseconds(5000), RetryPolicy.Backoff(20, initial, max, jitter: 1));
        Assert.Equal(TimeSpan.FromMilliseconds(500), RetryPolicy.Backoff(1, initial, max, jitter: 0));
    }

    // google.rpc.Status { code = 8; details = [ Any { type_url = RetryInfo; value = RetryInfo { retry_delay = Duration } } ] }
    private static byte[] StatusWithRetryInfo(long seconds, int nanos)
    {
        byte[] duration = [0x08, .. Varint((ulong)seconds), 0x10, .. Varint((ulong)nanos)];
        byte[] retryInfo = [0x0a, .. Varint((ulong)duration.Length), .. duration];
        byte[] typeUrl = System.Text.Encoding.UTF8.GetBytes("type.googleapis.com/google.rpc.RetryInfo");
        byte[] any = [0x0a, .. Varint((ulong)typeUrl.Length), .. typeUrl, 0x12, .. Varint((ulong)retryInfo.Length), .. retryInfo];
        return [0x08, 0x08, 0x1a, .. Varint((ulong)any.Length), .. any];
    }

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7f);
            value >>= 7;
            if (value != 0)
            {
                b |= 0x80;
            }

            bytes.Add(b);
        }
        while (value != 0);
        return [.. bytes];
    }
}
