using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Redaction;

/// <summary>`summary`: which diagnostic attributes redaction adds (upstream's names and levels).</summary>
internal enum RedactionSummary
{
    /// <summary>Upstream's default (its empty value behaves so): a list of redacted keys can itself leak information.</summary>
    Silent,

    /// <summary>Counts only: redaction.redacted.count, redaction.masked.count, ...</summary>
    Info,

    /// <summary>Counts and key names: redaction.redacted.keys, redaction.masked.keys, ...</summary>
    Debug,
}

/// <summary>`redaction`: upstream's keys and defaults, with keyed hashing instead of md5 / sha1 / sha3.</summary>
internal sealed class RedactionSettings : ProcessorSettings, IProcessorFactory
{
    /// <summary>False as upstream: the allow list fails closed, an empty one removes every attribute.</summary>
    public bool AllowAllKeys { get; init; }

    public IReadOnlyList<string> AllowedKeys { get; init; } = [];

    /// <summary>Passed through untouched: neither removed nor checked.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; init; } = [];

    public IReadOnlyList<Regex> IgnoredKeyPatterns { get; init; } = [];

    /// <summary>Values of keys matching these are masked (or hashed) whole.</summary>
    public IReadOnlyList<Regex> BlockedKeyPatterns { get; init; } = [];

    /// <summary>Each match inside a value is masked (or hashed).</summary>
    public IReadOnlyList<Regex> BlockedValues { get; init; } = [];

    /// <summary>A value matching one of these is left as it is (before any masking), as upstream.</summary>
    public IReadOnlyList<Regex> AllowedValues { get; init; } = [];

    /// <summary>False as upstream: only string values are checked against blocked_values (TraceSeal also checks strings inside arrays and maps).</summary>
    public bool RedactAllTypes { get; init; }

    /// <summary>Null = mask with `****` (upstream's default); set = `hash_function: hmac-sha256` with this key.</summary>
    public string? HashKeyFile { get; init; }

    public RedactionSummary Summary { get; init; } = RedactionSummary.Silent;

    public IProcessor Create(string id, ILogger logger) =>
        new RedactionProcessor(id, new Redactor(this, HashKeyFile is null ? null : KeyedHasher.Load(HashKeyFile)));
}
