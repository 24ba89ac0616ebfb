using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>One GeneralName from a subjectAltName extension; Kind is "DNS", "IP", "URI", "email" or "other".</summary>
internal readonly record struct AltName(string Kind, string Value)
{
    public override string ToString() => $"{Kind}:{Value}";
}

/// <summary>
/// Reads the SAN extension (RFC 5280 4.2.1.6) with AsnReader. The BCL's X509SubjectAlternativeNameExtension
/// only enumerates DNS names and IP addresses; SPIFFE identities live in uniformResourceIdentifier [6].
/// </summary>
internal static class SubjectAltNames
{
    private const string SanOid = "2.5.29.17";
    private static readonly Asn1Tag Rfc822Tag = new(TagClass.ContextSpecific, 1);
    private static readonly Asn1Tag DnsTag = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);
    private static readonly Asn1Tag IpTag = new(TagClass.ContextSpecific, 7);

    public static IReadOnlyList<AltName> Read(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        X509Extension? extension = certificate.Extensions[SanOid];
        return extension is null ? [] : Parse(extension.RawData);
    }

    public static IReadOnlyList<AltName> Parse(byte[] der)
    {
        var names = new List<AltName>();
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        AsnReader sequence = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        while (sequence.HasData)
        {
            Asn1Tag tag = sequence.PeekTag();
            if (tag.HasSameClassAndValue(DnsTag))
            {
                names.Add(new AltName("DNS", sequence.ReadCharacterString(UniversalTagNumber.IA5String, DnsTag)));
            }
            else if (tag.HasSameClassAndValue(UriTag))
            {
                names.Add(new AltName("URI", sequence.ReadCharacterString(UniversalTagNumber.IA5String, UriTag)));
            }
            else if (tag.HasSameClassAndValue(Rfc822Tag))
            {
                names.Add(new AltName("email", sequence.ReadCharacterString(UniversalTagNumber.IA5String, Rfc822Tag)));
            }
            else if (tag.HasSameClassAndValue(IpTag))
            {
                byte[] address = sequence.ReadOctetString(IpTag);
                names.Add(new AltName("IP", address.Length is 4 or 16 ? new IPAddress(address).ToString() : Convert.ToHexString(address)));
            }
            else
            {
                // otherName, directoryName, registeredID...: shown as present, never used as identities.
                sequence.ReadEncodedValue();
                names.Add(new AltName("other", $"[{tag.TagValue}]"));
            }
        }

        return names;
    }
}
