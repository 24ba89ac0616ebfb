using System.Text.RegularExpressions;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Redaction;

/// <summary>
/// Upstream's redaction of one attribute map, in its order: an ignored key passes untouched; a key not allowed is
/// removed; a value matching allowed_values is kept; a key matching blocked_key_patterns has its whole value masked;
/// otherwise every match of blocked_values inside the value is masked. Masking writes `****`, or with
/// `hash_function: hmac-sha256` the keyed hash of what it replaces. Then the summary attributes, merged with any an
/// earlier redaction processor wrote (their keys are always allowed, as upstream, so a chain accumulates).
/// Every regex answers a timeout the closed way: a blocked pattern counts as matched, an allowing one as not.
/// </summary>
internal sealed class Redactor
{
    public const string Mask = "****";

    /// <summary>Upstream's summary attribute names (redactionprocessor/processor.go).</summary>
    public const string RedactedKeys = "redaction.redacted.keys", RedactedCount = "redaction.redacted.count",
        MaskedKeys = "redaction.masked.keys", MaskedCount = "redaction.masked.count",
        AllowedKeys = "redaction.allowed.keys", AllowedCount = "redaction.allowed.count",
        IgnoredCount = "redaction.ignored.count",
        BodyRedactedKeys = "redaction.body.redacted.keys", BodyRedactedCount = "redaction.body.redacted.count",
        BodyMaskedKeys = "redaction.body.masked.keys", BodyMaskedCount = "redaction.body.masked.count",
        BodyAllowedKeys = "redaction.body.allowed.keys", BodyAllowedCount = "redaction.body.allowed.count",
        BodyIgnoredCount = "redaction.body.ignored.count";

    private static readonly string[] SummaryKeys =
        [RedactedKeys, RedactedCount, MaskedKeys, MaskedCount, AllowedKeys, AllowedCount, IgnoredCount,
            BodyRedactedKeys, BodyRedactedCount, BodyMaskedKeys, BodyMaskedCount, BodyAllowedKeys, BodyAllowedCount, BodyIgnoredCount];

    private readonly RedactionSettings _settings;
    private readonly HashSet<string> _allowed;
    private readonly HashSet<string> _ignored;
    private readonly Regex[] _ignoredPatterns, _blockedKeys, _blockedValues, _allowedValues;
    private readonly KeyedHasher? _hasher;
    private readonly MatchEvaluator _replace;

    public Redactor(RedactionSettings settings, KeyedHasher? hasher)
    {
        _settings = settings;
        _hasher = hasher;
        _allowed = [.. settings.AllowedKeys, .. SummaryKeys];
        _ignored = [.. settings.IgnoredKeys];
        _ignoredPatterns = [.. settings.IgnoredKeyPatterns];
        _blockedKeys = [.. settings.BlockedKeyPatterns];
        _blockedValues = [.. settings.BlockedValues];
        _allowedValues = [.. settings.AllowedValues];
        _replace = m => m.Length == 0 ? "" : MaskOf(m.Value);
    }

    /// <summary>Redacts one attribute map and adds its summary; true when anything changed.</summary>
    public bool Attributes(RepeatedField<KeyValue> attributes)
    {
        var found = default(Found);
        for (int i = 0; i < attributes.Count; i++)
        {
            var kv = attributes[i];
            string key = kv.Key;
            if (IsIgnored(key))
            {
                found.Ignored++;
                continue;
            }

            if (!IsAllowedKey(key))
            {
                (found.Redacted ??= []).Add(key);
                continue;
            }

            var value = kv.Value ?? new AnyValue();
            string? text = value.ValueCase == AnyValue.ValueOneofCase.StringValue ? value.StringValue
                : _settings.RedactAllTypes ? OtlpItems.ScalarString(value) : null;
            if (text is not null && SafeRegex.AnyMatch(_allowedValues, text, onTimeout: false))
            {
                (found.Allowed ??= []).Add(key);
                continue;
            }

            if (SafeRegex.AnyMatch(_blockedKeys, key, onTimeout: true))
            {
                kv.Value = OtlpItems.String(_hasher?.Hash(value) ?? Mask);
                (found.Masked ??= []).Add(key);
                continue;
            }

            bool masked = text is not null
                ? MaskInto(value, text)
                : value.ValueCase is AnyValue.ValueOneofCase.ArrayValue or AnyValue.ValueOneofCase.KvlistValue && MaskLeaves(value);
            if (masked)
            {
                kv.Value = value;
                (found.Masked ??= []).Add(key);
            }
        }

        if (found.Redacted is not null)
        {
            for (int i = attributes.Count - 1; i >= 0; i--)
            {
                if (!IsIgnored(attributes[i].Key) && !IsAllowedKey(attributes[i].Key))
                {
                    attributes.RemoveAt(i);
                }
            }
        }

        AddSummary(attributes, found.Redacted, RedactedKeys, RedactedCount);
        AddSummary(attributes, found.Masked, MaskedKeys, MaskedCount);
        AddSummary(attributes, found.Allowed, AllowedKeys, AllowedCount);
        AddCount(attributes, found.Ignored, IgnoredCount);
        return found.Redacted is not null || found.Masked is not null || (_settings.Summary != RedactionSummary.Silent && found.Any);
    }

    /// <summary>
    /// A log body as upstream's processLogBody: a map body by its keys (with dotted paths), an array by `[i]`, a scalar
    /// as `body`; the summary goes on the log record's attributes under the `redaction.body.*` names.
    /// </summary>
    public bool Body(AnyValue? body, RepeatedField<KeyValue> logAttributes)
    {
        if (body is null || body.ValueCase == AnyValue.ValueOneofCase.None)
        {
            return false;
        }

        var found = default(Found);
        switch (body.ValueCase)
        {
            case AnyValue.ValueOneofCase.KvlistValue:
                BodyMap(body.KvlistValue.Values, "", ref found);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                for (int i = 0; i < body.ArrayValue.Values.Count; i++)
                {
                    BodyValue(body.ArrayValue.Values[i], $"[{i}]", ref found);
                }

                break;
            default:
                BodyValue(body, "body", ref found);
                break;
        }

        AddSummary(logAttributes, found.Redacted, BodyRedactedKeys, BodyRedactedCount);
        AddSummary(logAttributes, found.Masked, BodyMaskedKeys, BodyMaskedCount);
        AddSummary(logAttributes, found.Allowed, BodyAllowedKeys, BodyAllowedCount);
        AddCount(logAttributes, found.Ignored, BodyIgnoredCount);
        return found.Redacted is not null || found.Masked is not null || (_settings.Summary != RedactionSummary.Silent && found.Any);
    }

    private void BodyMap(RepeatedField<KeyValue> map, string path, ref Found found)
    {
        for (int i = map.Count - 1; i >= 0; i--)
        {
            var kv = map[i];
            string keyPath = path.Length == 0 ? kv.Key : $"{path}.{kv.Key}";
            if (IsIgnored(kv.Key))
            {
                found.Ignored++;
            }
            else if (!IsAllowedKey(kv.Key))
            {
                map.RemoveAt(i);
                (found.Redacted ??= []).Add(keyPath);
            }
            else if (SafeRegex.AnyMatch(_blockedKeys, kv.Key, onTimeout: true))
            {
                kv.Value = OtlpItems.String(_hasher?.Hash(kv.Value) ?? Mask);
                (found.Masked ??= []).Add(keyPath);
            }
            else if (kv.Value is not null)
            {
                BodyValue(kv.Value, keyPath, ref found);
            }
        }
    }

    private void BodyValue(AnyValue value, string path, ref Found found)
    {
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.KvlistValue:
                BodyMap(value.KvlistValue.Values, path, ref found);
                return;
            case AnyValue.ValueOneofCase.ArrayValue:
                for (int i = 0; i < value.ArrayValue.Values.Count; i++)
                {
                    BodyValue(value.ArrayValue.Values[i], $"{path}.[{i}]", ref found);
                }

                return;
        }

        // Upstream checks every scalar of a body by its string form.
        string text = OtlpItems.ScalarString(value) ?? "";
        if (SafeRegex.AnyMatch(_allowedValues, text, onTimeout: false))
        {
            (found.Allowed ??= []).Add(path);
        }
        else if (MaskInto(value, text))
        {
            (found.Masked ??= []).Add(path);
        }
    }

    /// <summary>Masks every blocked_values match in <paramref name="text"/>; when any matched, <paramref name="value"/> becomes the masked string.</summary>
    private bool MaskInto(AnyValue value, string text)
    {
        string masked = MaskBlocked(text);
        if (ReferenceEquals(masked, text))
        {
            return false;
        }

        value.StringValue = masked;
        return true;
    }

    /// <summary>TraceSeal: string leaves inside array and map values are checked too (upstream checks only top-level strings).</summary>
    private bool MaskLeaves(AnyValue value)
    {
        bool changed = false;
        var children = value.ValueCase == AnyValue.ValueOneofCase.ArrayValue
            ? value.ArrayValue.Values
            : null;
        if (children is not null)
        {
            foreach (var child in children)
            {
                changed |= MaskLeaf(child);
            }
        }
        else
        {
            foreach (var kv in value.KvlistValue.Values)
            {
                changed |= kv.Value is not null && MaskLeaf(kv.Value);
            }
        }

        return changed;
    }

    private bool MaskLeaf(AnyValue value)
    {
        if (value.ValueCase is AnyValue.ValueOneofCase.ArrayValue or AnyValue.ValueOneofCase.KvlistValue)
        {
            return MaskLeaves(value);
        }

        string? text = value.ValueCase == AnyValue.ValueOneofCase.StringValue ? value.StringValue
            : _settings.RedactAllTypes ? OtlpItems.ScalarString(value) : null;
        return text is not null && !SafeRegex.AnyMatch(_allowedValues, text, onTimeout: false) && MaskInto(value, text);
    }

    /// <summary>The same string instance when nothing matched. A timeout masks the whole value.</summary>
    private string MaskBlocked(string text)
    {
        string result = text;
        foreach (var regex in _blockedValues)
        {
            try
            {
                result = regex.Replace(result, _replace);
            }
            catch (RegexMatchTimeoutException)
            {
                return MaskOf(text);
            }
        }

        return string.Equals(result, text, StringComparison.Ordinal) ? text : result;
    }

    private string MaskOf(string value) => _hasher?.Hash(value) ?? Mask;

    private bool IsIgnored(string key) => _ignored.Contains(key) || SafeRegex.AnyMatch(_ignoredPatterns, key, onTimeout: false);

    private bool IsAllowedKey(string key) => _settings.AllowAllKeys || _allowed.Contains(key);

    /// <summary>Upstream's addMetaAttrs: key names (debug) merged with existing ones, sorted, comma separated; counts (info, debug) added to existing ones.</summary>
    private void AddSummary(RepeatedField<KeyValue> attributes, List<string>? keys, string keysAttribute, string countAttribute)
    {
        if (keys is null || _settings.Summary == RedactionSummary.Silent)
        {
            return;
        }

        if (_settings.Summary == RedactionSummary.Debug)
        {
            var all = new List<string>(keys);
            if (OtlpItems.Get(attributes, keysAttribute) is { StringValue: { Length: > 0 } existing })
            {
                all.AddRange(existing.Split(','));
            }

            all.Sort(StringComparer.Ordinal);
            OtlpItems.Put(attributes, keysAttribute, OtlpItems.String(string.Join(',', all)));
        }

        AddCount(attributes, keys.Count, countAttribute);
    }

    private void AddCount(RepeatedField<KeyValue> attributes, int count, string countAttribute)
    {
        if (count == 0 || _settings.Summary == RedactionSummary.Silent)
        {
            return;
        }

        long total = count + (OtlpItems.Get(attributes, countAttribute)?.IntValue ?? 0);
        OtlpItems.Put(attributes, countAttribute, new AnyValue { IntValue = total });
    }

    private struct Found
    {
        public List<string>? Redacted;
        public List<string>? Masked;
        public List<string>? Allowed;
        public int Ignored;

        public readonly bool Any => Redacted is not null || Masked is not null || Allowed is not null || Ignored > 0;
    }
}
