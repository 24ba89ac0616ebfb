namespace TraceSeal.Sealing;

/// <summary>
/// A private key that opens objects sealed to its recipient. Get one from
/// <see cref="KeyFiles.LoadIdentity"/> or <see cref="KeyFiles.ParseIdentity"/>.
/// </summary>
public interface IIdentity
{
    /// <summary>The key id of the matching recipient (see <see cref="IRecipient.KeyId"/>).</summary>
    string KeyId { get; }
}
