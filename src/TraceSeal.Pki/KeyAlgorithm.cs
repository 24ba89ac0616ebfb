namespace TraceSeal.Pki;

/// <summary>Key types DevPki can generate. ECDSA P-256 is the default: small, fast, accepted by every TLS stack we target.</summary>
public enum KeyAlgorithm
{
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}
