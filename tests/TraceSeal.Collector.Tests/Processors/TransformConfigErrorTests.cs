using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>Bad `attributes` / `resource` / `redaction` configs: one line each, naming the key, the cause and the fix.</summary>
public sealed class TransformConfigErrorTests : IDisposable
{
    // The processors block starts on line 7 of TransformHarness.Config: the first processor key is at 7:3.
    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string At(int line, int column, string message) => _h.At(line, column, message);

    private string[] Errors(string processors, params string[] ids) => _h.OneLineErrors(processors, ids);

    [Fact]
    public void hash_without_a_key_file_says_why_a_key_is_needed()
    {
        var errors = Errors("""
              attributes:
                actions:
                  - {key: user.email, action: hash}
            """, "attributes");

        Assert.Equal([At(7, 3, "processors::attributes: action hash needs hash_key_file: " + AttributeActionsParser.WhyKeyed)], errors);
    }

    [Fact]
    public void a_short_key_file_is_refused_with_how_to_make_one()
    {
        _h.WriteKey(key: new byte[16]);
        var path = _h.Fixture.Path("hash.key");

        var errors = Errors("""
              resource:
                hash_key_file: hash.key
                attributes:
                  - {key: service.name, action: hash}
            """, "resource");

        Assert.Equal([At(8, 20, $"processors::resource::hash_key_file: the hash key holds 16 bytes, at least 32 random bytes are needed so hashed values cannot be guessed; create one with: head -c 32 /dev/urandom > {path} && chmod 600 {path}")], errors);
    }

    [Fact]
    public void a_key_file_others_can_read_is_refused()
    {
        _h.WriteKey(mode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var path = _h.Fixture.Path("hash.key");

        var errors = Errors("""
              redaction:
                allow_all_keys: true
                hash_function: hmac-sha256
                hash_key_file: hash.key
            """, "redaction");

        Assert.Equal([At(10, 20, $"processors::redaction::hash_key_file: the hash key is accessible by group or others; whoever reads it can check guesses against hashed values: chmod 600 {path}")], errors);
    }

    [Fact]
    public void unkeyed_hash_functions_and_an_inline_hmac_key_are_refused()
    {
        var errors = Errors("""
              redaction:
                hash_function: sha3
                hmac_key: ${env:KEY:-not-a-secret}
            """, "redaction");

        Assert.Equal(
            [
                At(8, 20, "processors::redaction::hash_function: \"sha3\" is an unkeyed hash: a low-entropy value (a card number, a user id, an e-mail address) is recovered by hashing every candidate; use hmac-sha256 with hash_key_file"),
                At(9, 5, "processors::redaction::hmac_key: a key written in the config ends up in backups, diffs and support tickets; put at least 32 random bytes in a file and name it with hash_key_file"),
            ],
            errors);
    }

    [Fact]
    public void upstream_keys_that_are_not_provided_are_errors_naming_the_key()
    {
        var errors = Errors("""
              attributes:
                include:
                  match_type: strict
                  services: [checkout]
                actions:
                  - {key: tenant, from_context: metadata.tenant, action: insert}
              redaction:
                allow_all_keys: true
                db_sanitizer:
                  sql: {enabled: true}
            """, "attributes", "redaction");

        Assert.Equal(
            [
                At(12, 37, "processors::attributes::actions[0]::from_context: \"metadata.tenant\" is not available: TraceSeal's receivers hand processors no request headers (include_metadata is not supported); supported: auth.identity (the client certificate's identity) and auth.tenant (the tenant its identity rules chose)"),
                At(16, 22, "processors::redaction::db_sanitizer::sql::enabled: not supported: TraceSeal has no database query sanitizer; remove it or set enabled: false, and use blocked_values or blocked_key_patterns for what must not be stored"),
            ],
            errors);
    }

    [Fact]
    public void redaction_refuses_skip_conditions_enabled_sanitizers_and_other_hash_functions_and_accepts_disabled_sanitizers()
    {
        var errors = Errors("""
              redaction:
                allow_all_keys: true
                hash_function: sha256
                skip_conditions: ['resource.attributes["env"] == "dev"']
                url_sanitizer: {enabled: false, attributes: [http.url]}
                db_sanitizer:
                  sql: {enabled: false}
                  redis: {enabled: true}
            """, "redaction");

        Assert.Equal(
            [
                At(9, 20, "processors::redaction::hash_function: unsupported value \"sha256\": TraceSeal hashes only with a key (HMAC-SHA-256); use hmac-sha256 with hash_key_file"),
                At(10, 5, "processors::redaction::skip_conditions: not supported: TraceSeal has no OTTL to evaluate the conditions, and a skipped item would be stored unredacted; remove it, or put the items to spare in another pipeline"),
                At(14, 24, "processors::redaction::db_sanitizer::redis::enabled: not supported: TraceSeal has no database query sanitizer; remove it or set enabled: false, and use blocked_values or blocked_key_patterns for what must not be stored"),
            ],
            errors);
    }

    [Fact]
    public void invalid_actions_are_reported_each_with_its_position()
    {
        var errors = Errors("""
              attributes:
                actions:
                  - {key: a, action: rename}
                  - {key: b, action: extract, pattern: "^(v[0-9]+)"}
                  - {key: c, action: convert, converted_type: bool}
                  - {action: delete}
                  - {key: d, action: delete, value: x}
            """, "attributes");

        Assert.Equal(
            [
                At(9, 26, "processors::attributes::actions[0]::action: unsupported action \"rename\" (supported: insert, update, upsert, delete, hash, extract, convert)"),
                At(10, 44, "processors::attributes::actions[1]::pattern: has an unnamed group; name every group (its name is the attribute key) or make it non-capturing: (?:...)"),
                At(11, 51, "processors::attributes::actions[2]::converted_type: unsupported value \"bool\" (supported: int, double, string)"),
                At(12, 9, "processors::attributes::actions[3]: action delete needs key and/or pattern: the attributes to delete"),
                At(13, 34, "processors::attributes::actions[4]::value: not used by action delete; remove it"),
            ],
            errors);
    }

    [Fact]
    public void a_hash_key_no_action_uses_is_a_warning()
    {
        _h.WriteKey();

        var config = _h.Load("""
              attributes:
                hash_key_file: hash.key
                actions:
                  - {key: user.email, action: delete}
            """, "attributes");

        Assert.Equal(
            [$"{_h.Fixture.ConfigPath}:8:5: processors::attributes::hash_key_file: no action hashes, so the key is not used; remove it or add an action: hash"],
            config.Warnings.Where(w => w.KeyPath.StartsWith("processors::", StringComparison.Ordinal)).Select(w => w.ToString()));
    }

    [Fact]
    public void a_pattern_that_needs_backtracking_is_refused()
    {
        var errors = Errors("""
              redaction:
                allow_all_keys: true
                blocked_values: ["(a)\\1", "(?<=x)y"]
            """, "redaction");

        Assert.Equal(
            [
                At(9, 22, "processors::redaction::blocked_values[0]: \"(a)\\1\" needs backtracking (a backreference, lookaround or atomic group); upstream's RE2 syntax has none of these, rewrite it without"),
                At(9, 32, "processors::redaction::blocked_values[1]: \"(?<=x)y\" needs backtracking (a backreference, lookaround or atomic group); upstream's RE2 syntax has none of these, rewrite it without"),
            ],
            errors);
    }
}
