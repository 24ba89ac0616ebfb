using TraceSeal.Collector.Hosting;
using static TraceSeal.Collector.Tests.Processors.TransformHarness;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>Keyed hashing: the same key file gives the same output at every start; another key, or no key, does not.</summary>
public sealed class KeyedHashTests : IDisposable
{
    private const string Processors = """
          attributes:
            hash_key_file: hash.key
            actions:
              - {key: user.email, action: hash}
        """;

    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string HashedEmail() =>
        OnlySpan(_h.Traces(Processors, Trace(Attr("user.email", "alice@example.com")), "attributes")).Attributes[0].Value.StringValue;

    [Fact]
    public void the_output_is_pinned_hmac_sha256_hex_and_stable_across_restarts()
    {
        // A test vector key (bytes 0..31), written by the test: HMAC-SHA-256 computed independently (Python's hmac).
        _h.WriteKey(key: [.. Enumerable.Range(0, 32).Select(i => (byte)i)]);

        string first = HashedEmail();   // each call loads the config and the key file anew, as a restarted collector does
        string second = HashedEmail();

        Assert.Equal("a59fc578d4cb46faab1d6eb348e7c74b33b85122d6459fdb7bf5654b333acab4", first);
        Assert.Equal(first, second);
        // Not the unkeyed SHA-256 upstream writes, which anyone can recompute from a guess.
        Assert.NotEqual("ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976", first);
    }

    [Fact]
    public void another_key_gives_another_hash()
    {
        _h.WriteKey();
        string first = HashedEmail();
        _h.WriteKey();

        Assert.NotEqual(first, HashedEmail());
    }

    [Fact]
    public void a_key_file_removed_after_loading_the_config_fails_the_start_naming_the_file()
    {
        _h.WriteKey();
        var config = _h.Load(Processors, "attributes");
        var path = _h.Fixture.Path("hash.key");
        File.Delete(path);

        var e = Assert.Throws<InvalidOperationException>(() =>
            ComponentFactory.CreateProcessor("attributes", config.Processors["attributes"], Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.StartsWith($"{path}: cannot read the hash key: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
