namespace TraceSeal.Sealing;

/// <summary>
/// A public key that objects can be sealed to. Get one from <see cref="KeyFiles.LoadRecipient"/> or
/// <see cref="KeyFiles.ParseRecipient"/>; other implementations are not accepted (the wrap is internal).
/// </summary>
public interface IRecipient
{
    /// <summary>Key id: 32 lowercase hex digits, the first 16 bytes of SHA-256(SubjectPublicKeyInfo DER).</summary>
    string KeyId { get; }
}
