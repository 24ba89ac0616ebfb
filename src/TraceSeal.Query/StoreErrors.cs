using TraceSeal.Sealing;

namespace TraceSeal.Query;

/// <summary>
/// An object of the store failed a check: a sealed-object code (docs/format.md §7) or a store code
/// (docs/format.md §12: tenant_mismatch, index_mismatch, frame_out_of_order, ...). Never skipped silently.
/// Public: the CLI and other tools report it.
/// </summary>
public sealed class StoreIntegrityException : Exception
{
    public StoreIntegrityException(string objectPath, string code, string? where = null)
        : base($"{objectPath}{(where is null ? "" : " " + where)}: integrity error ({code}); the object was corrupted, " +
               "truncated, moved or tampered with")
    {
        ObjectPath = objectPath;
        Code = code;
    }

    public string ObjectPath { get; }

    /// <summary>Stable snake_case code.</summary>
    public string Code { get; }
}

/// <summary>No offered identity is a recipient of an object: says which keys it wants.</summary>
public sealed class StoreAccessException : Exception
{
    public StoreAccessException(string objectPath, NoIdentityMatchException inner)
        : base($"{objectPath} wants recipients {string.Join(", ", inner?.WantedKeyIds ?? [])}; you offered " +
               $"{(inner is null || inner.OfferedKeyIds.Count == 0 ? "(none)" : string.Join(", ", inner.OfferedKeyIds))}", inner)
    {
        ObjectPath = objectPath;
        WantedKeyIds = inner?.WantedKeyIds ?? [];
        OfferedKeyIds = inner?.OfferedKeyIds ?? [];
    }

    public string ObjectPath { get; }

    public IReadOnlyList<string> WantedKeyIds { get; }

    public IReadOnlyList<string> OfferedKeyIds { get; }
}

/// <summary>
/// A query condition could not be evaluated within its bound (a regular expression that took longer than its timeout
/// on one value). The query fails with this message rather than treating the value as "no match": a silent
/// non-match would drop traces from the answer, more of them the busier the machine.
/// </summary>
public sealed class QueryTooCostlyException(string message) : Exception(message);
