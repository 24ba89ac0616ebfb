using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>Upstream's attraction actions (`action:` values, case-insensitive in the config).</summary>
internal enum AttributeActionKind
{
    Insert,
    Update,
    Upsert,
    Delete,
    Hash,
    Extract,
    Convert,
}

/// <summary>
/// One entry of `actions` (attributes) or `attributes` (resource), validated: the fields an action does not use are
/// null, patterns are compiled (<see cref="SafeRegex"/>).
/// </summary>
internal sealed class AttributeAction
{
    public required AttributeActionKind Kind { get; init; }

    /// <summary>Required except for delete / hash with a <see cref="Pattern"/>.</summary>
    public string? Key { get; init; }

    /// <summary>insert / update / upsert: the configured value (string, int, double or bool, typed as YAML reads it).</summary>
    public AnyValue? Value { get; init; }

    /// <summary>insert / update / upsert: copy the value of this attribute of the same item.</summary>
    public string? FromAttribute { get; init; }

    /// <summary>insert / update / upsert: `from_context`, the batch's identity or tenant (see <see cref="TransformContext"/>).</summary>
    public ContextKey? FromContext { get; init; }

    /// <summary>insert / update / upsert: used when <see cref="Value"/> / <see cref="FromAttribute"/> / <see cref="FromContext"/> provide nothing.</summary>
    public AnyValue? DefaultValue { get; init; }

    /// <summary>delete / hash: keys to act on; extract: the pattern whose named groups become attributes.</summary>
    public Regex? Pattern { get; init; }

    /// <summary>extract: the group names, in group order.</summary>
    public string[] ExtractNames { get; init; } = [];

    /// <summary>convert: `int`, `double` or `string`.</summary>
    public string? ConvertedType { get; init; }
}

/// <summary>What `from_context` can read: the names are upstream's `auth.` prefix (what the authenticator established).</summary>
internal enum ContextKey
{
    /// <summary>`auth.identity`: the identity that admitted the client (`uri:spiffe://...`, `dns:...`, `cn:...`, or `anonymous`).</summary>
    Identity,

    /// <summary>`auth.tenant`: the tenant the identity rules chose.</summary>
    Tenant,
}

/// <summary>Applies a list of <see cref="AttributeAction"/>s to one attribute map, in order, as upstream's AttrProc.Process.</summary>
internal sealed class AttributeActions(IReadOnlyList<AttributeAction> actions, KeyedHasher? hasher)
{
    public IReadOnlyList<AttributeAction> Actions { get; } = actions;

    /// <summary>True when the map was changed.</summary>
    public bool Apply(RepeatedField<KeyValue> attributes, TransformContext context)
    {
        bool changed = false;
        foreach (var action in Actions)
        {
            switch (action.Kind)
            {
                case AttributeActionKind.Delete:
                    changed |= OtlpItems.RemoveWhere(attributes, action.Key, action.Pattern);
                    break;
                case AttributeActionKind.Insert:
                    if (OtlpItems.IndexOf(attributes, action.Key!) < 0 && Source(action, attributes, context) is { } inserted)
                    {
                        attributes.Add(new KeyValue { Key = action.Key, Value = inserted.Clone() });
                        changed = true;
                    }

                    break;
                case AttributeActionKind.Update:
                    if (OtlpItems.IndexOf(attributes, action.Key!) >= 0 && Source(action, attributes, context) is { } updated)
                    {
                        OtlpItems.Put(attributes, action.Key!, updated);
                        changed = true;
                    }

                    break;
                case AttributeActionKind.Upsert:
                    if (Source(action, attributes, context) is { } upserted)
                    {
                        OtlpItems.Put(attributes, action.Key!, upserted);
                        changed = true;
                    }

                    break;
                case AttributeActionKind.Hash:
                    foreach (var kv in attributes)
                    {
                        if (OtlpItems.KeyMatches(kv.Key, action.Key, action.Pattern))
                        {
                            kv.Value = OtlpItems.String(hasher!.Hash(kv.Value));
                            changed = true;
                        }
                    }

                    break;
                case AttributeActionKind.Extract:
                    changed |= Extract(action, attributes);
                    break;
                case AttributeActionKind.Convert:
                    changed |= Convert(action, attributes);
                    break;
            }
        }

        return changed;
    }

    /// <summary>The value an insert / update / upsert writes, or null (then the action does nothing, as upstream).</summary>
    private static AnyValue? Source(AttributeAction action, RepeatedField<KeyValue> attributes, TransformContext context) =>
        action.Value
        ?? (action.FromAttribute is not null ? OtlpItems.Get(attributes, action.FromAttribute) : null)
        ?? (action.FromContext is { } key ? FromContext(key, context) : null)
        ?? action.DefaultValue;

    /// <summary>As upstream: a context value that is not there (empty) writes nothing, so default_value applies.</summary>
    private static AnyValue? FromContext(ContextKey key, TransformContext context)
    {
        string? value = key == ContextKey.Identity ? context.Identity : context.Tenant;
        return string.IsNullOrEmpty(value) ? null : OtlpItems.String(value);
    }

    /// <summary>Named groups of the first match become string attributes (overwriting); the source is left as it is.</summary>
    private static bool Extract(AttributeAction action, RepeatedField<KeyValue> attributes)
    {
        var source = OtlpItems.Get(attributes, action.Key!);
        if (source?.ValueCase != AnyValue.ValueOneofCase.StringValue)
        {
            return false;
        }

        Match match;
        try
        {
            match = action.Pattern!.Match(source.StringValue);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }

        if (!match.Success)
        {
            return false;
        }

        foreach (var name in action.ExtractNames)
        {
            OtlpItems.Put(attributes, name, OtlpItems.String(match.Groups[name].Value));
        }

        return true;
    }

    /// <summary>Upstream's convertValue: a value that does not parse stays as it is.</summary>
    private static bool Convert(AttributeAction action, RepeatedField<KeyValue> attributes)
    {
        bool changed = false;
        foreach (var kv in attributes)
        {
            if (!string.Equals(kv.Key, action.Key, StringComparison.Ordinal) || kv.Value is null)
            {
                continue;
            }

            var v = kv.Value;
            AnyValue? converted = (action.ConvertedType, v.ValueCase) switch
            {
                ("string", not AnyValue.ValueOneofCase.StringValue) => OtlpItems.ScalarString(v) is { } s ? OtlpItems.String(s) : null,
                ("int", AnyValue.ValueOneofCase.DoubleValue) => new AnyValue { IntValue = (long)v.DoubleValue },
                ("int", AnyValue.ValueOneofCase.BoolValue) => new AnyValue { IntValue = v.BoolValue ? 1 : 0 },
                ("int", AnyValue.ValueOneofCase.StringValue) => long.TryParse(v.StringValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? new AnyValue { IntValue = n } : null,
                ("double", AnyValue.ValueOneofCase.IntValue) => new AnyValue { DoubleValue = v.IntValue },
                ("double", AnyValue.ValueOneofCase.BoolValue) => new AnyValue { DoubleValue = v.BoolValue ? 1 : 0 },
                ("double", AnyValue.ValueOneofCase.StringValue) => double.TryParse(v.StringValue, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? new AnyValue { DoubleValue = d } : null,
                _ => null,
            };
            if (converted is not null)
            {
                kv.Value = converted;
                changed = true;
            }
        }

        return changed;
    }
}
