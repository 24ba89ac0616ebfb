using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Tests.Config;

public sealed class ValueParsingTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("200ms", 2_000_000)]
    [InlineData("30s", 300_000_000)]
    [InlineData("1m30s", 900_000_000)]
    [InlineData("1.5h", 54_000_000_000)]
    [InlineData("100us", 1_000)]
    public void GoDuration_ParsesGoSyntax(string text, long ticks)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(ticks, value.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("-5s")]
    [InlineData("5 seconds")]
    [InlineData("5w")]
    public void GoDuration_RefusesEverythingElse(string text) => Assert.False(GoDuration.TryParse(text, out _));

    [Theory]
    [InlineData("1048576", 1048576)]
    [InlineData("64MiB", 64L << 20)]
    [InlineData("1 GiB", 1L << 30)]
    [InlineData("10MB", 10_000_000)]
    public void ByteSize_ParsesNumbersAndUnits(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var value));
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("$$HOME and $HOME", "$HOME and $HOME")]
    [InlineData("${env:A}-${A}", "x-x")]
    [InlineData("${env:UNSET:-fallback}", "fallback")]
    [InlineData("${UNSET:-}", "")]
    public void EnvExpander_ExpandsAsUpstream(string text, string expected)
    {
        Assert.Equal(expected, EnvExpander.Expand(text, n => n == "A" ? "x" : null, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("${file:/etc/x}", "unsupported config provider \"file\" in \"${file:/etc/x}\" (supported: env)")]
    [InlineData("${env:1BAD}", "invalid environment variable name \"1BAD\" in \"${env:1BAD}\"; names are letters, digits and _")]
    [InlineData("${env:A", "unterminated \"${\" in \"${env:A\"; close it with \"}\" or write \"$$\" for a literal \"$\"")]
    public void EnvExpander_ReportsBadReferences(string text, string message)
    {
        Assert.Null(EnvExpander.Expand(text, _ => "x", out var error));
        Assert.Equal(message, error);
    }
}
