namespace TraceSeal.LoadGen.Tests;

public sealed class OptionsTests
{
    [Theory]
    [InlineData("20s", 20_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5", 1_500)]
    public void Durations_read_like_the_collector_config(string text, int millis)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(millis), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1s")]
    [InlineData("ten seconds")]
    public void Bad_durations_are_refused(string text) => Assert.False(DurationText.TryParse(text, out _));

    [Fact]
    public void A_plaintext_endpoint_is_refused_with_the_reason()
    {
        var options = new LoadOptions { Endpoint = new Uri("http://127.0.0.1:4318"), CaFile = "/nonexistent/ca.crt", CertFile = "/x.crt" };

        var errors = options.Validate();

        Assert.Contains("--endpoint http://127.0.0.1:4318/: must be an https:// URL; loadgen never sends telemetry in plaintext", errors);
        Assert.Contains("--ca /nonexistent/ca.crt: file not found; it must hold the CA that signed the server certificate", errors);
        Assert.Contains("--cert and --key go together: the client certificate and its private key", errors);
    }

    [Fact]
    public void Grpc_is_refused_over_http11() =>
        Assert.Contains(
            "--http1.1 cannot carry gRPC, which needs HTTP/2",
            new LoadOptions { Endpoint = new Uri("https://127.0.0.1:4317"), CaFile = "ca.crt", Protocol = LoadProtocol.Grpc, Http11 = true }.Validate());
}
