using TraceSeal.Sealing.Randomness;

namespace TraceSeal.Sealing.Recipients;

/// <summary>The internal half of <see cref="IRecipient"/>: wraps a file key into one stanza.</summary>
internal interface IStanzaRecipient : IRecipient
{
    Stanza Wrap(ReadOnlySpan<byte> fileKey, IRandomSource random);
}

/// <summary>The internal half of <see cref="IIdentity"/>: unwraps a stanza addressed to it.</summary>
internal interface IStanzaIdentity : IIdentity
{
    bool IsAddressee(Stanza stanza);

    /// <summary>False if the stanza does not authenticate under this identity.</summary>
    bool TryUnwrap(Stanza stanza, Span<byte> fileKey);
}
