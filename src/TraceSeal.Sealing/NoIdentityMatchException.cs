namespace TraceSeal.Sealing;

/// <summary>
/// None of the offered identities is a recipient of the object. Not corruption: the object is sealed
/// to other keys. <see cref="WantedKeyIds"/> lists the key ids it is sealed to.
/// </summary>
public sealed class NoIdentityMatchException : Exception
{
    internal NoIdentityMatchException(IReadOnlyList<string> wantedKeyIds, IReadOnlyList<string> offeredKeyIds)
        : base(
            $"no identity matches this object: it is sealed to key id(s) {string.Join(", ", wantedKeyIds)}; " +
            $"the identities offered have key id(s) {(offeredKeyIds.Count == 0 ? "(none)" : string.Join(", ", offeredKeyIds))}. " +
            "Use the identity file whose key id is listed (traceseal keys inspect FILE shows it), or rewrap the object to your key.")
    {
        WantedKeyIds = wantedKeyIds;
        OfferedKeyIds = offeredKeyIds;
    }

    public IReadOnlyList<string> WantedKeyIds { get; }

    public IReadOnlyList<string> OfferedKeyIds { get; }
}
