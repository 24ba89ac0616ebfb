using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>
/// "Is this certificate signed by that one?" without X509Chain, which would mix in time validity and
/// trust. Verifies the signature over tbsCertificate (RFC 5280 4.1.1) with the candidate issuer's key.
/// </summary>
internal static class SignatureCheck
{
    /// <summary>True or false when the signature algorithm is known; null when it is not (e.g. RSA-PSS, EdDSA).</summary>
    public static bool? IsSignedBy(X509Certificate2 subject, X509Certificate2 issuer)
    {
        var reader = new AsnReader(subject.RawData, AsnEncodingRules.DER);
        AsnReader certificate = reader.ReadSequence();
        ReadOnlyMemory<byte> tbs = certificate.ReadEncodedValue();
        AsnReader algorithm = certificate.ReadSequence();
        string oid = algorithm.ReadObjectIdentifier();
        byte[] signature = certificate.ReadBitString(out _);

        switch (oid)
        {
            case "1.2.840.10045.4.3.2":
                return VerifyEcdsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA256);
            case "1.2.840.10045.4.3.3":
                return VerifyEcdsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA384);
            case "1.2.840.10045.4.3.4":
                return VerifyEcdsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA512);
            case "1.2.840.113549.1.1.11":
                return VerifyRsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA256);
            case "1.2.840.113549.1.1.12":
                return VerifyRsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA384);
            case "1.2.840.113549.1.1.13":
                return VerifyRsa(issuer, tbs.Span, signature, HashAlgorithmName.SHA512);
            default:
                return null;
        }
    }

    private static bool VerifyEcdsa(X509Certificate2 issuer, ReadOnlySpan<byte> data, byte[] signature, HashAlgorithmName hash)
    {
        using ECDsa? key = issuer.GetECDsaPublicKey();
        return key is not null && key.VerifyData(data, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static bool VerifyRsa(X509Certificate2 issuer, ReadOnlySpan<byte> data, byte[] signature, HashAlgorithmName hash)
    {
        using RSA? key = issuer.GetRSAPublicKey();
        return key is not null && key.VerifyData(data, signature, hash, RSASignaturePadding.Pkcs1);
    }
}
