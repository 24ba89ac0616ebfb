using System.Security.Cryptography;
using TraceSeal.Sealing.Format;

namespace TraceSeal.Sealing.Recipients;

/// <summary>The two curves of docs/format.md §3: stanza type byte, SEC1 point length, group order.</summary>
internal sealed class EcCurveInfo
{
    public static readonly EcCurveInfo P256 = new(
        "p256",
        FormatConstants.StanzaTypeP256,
        ECCurve.NamedCurves.nistP256,
        FormatConstants.PointLengthP256,
        Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"));

    public static readonly EcCurveInfo P384 = new(
        "p384",
        FormatConstants.StanzaTypeP384,
        ECCurve.NamedCurves.nistP384,
        FormatConstants.PointLengthP384,
        Convert.FromHexString(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973"));

    private readonly byte[] _order;

    private EcCurveInfo(string name, byte stanzaType, ECCurve curve, int pointLength, byte[] order)
    {
        Name = name;
        StanzaType = stanzaType;
        Curve = curve;
        PointLength = pointLength;
        _order = order;
    }

    /// <summary>"p256" or "p384", as used on the command line and by <c>keys inspect</c>.</summary>
    public string Name { get; }

    public byte StanzaType { get; }

    public ECCurve Curve { get; }

    /// <summary>Uncompressed SEC1 point: 0x04 ‖ X ‖ Y.</summary>
    public int PointLength { get; }

    public int ScalarLength => _order.Length;

    public static EcCurveInfo? FromStanzaType(byte type) => type switch
    {
        FormatConstants.StanzaTypeP256 => P256,
        FormatConstants.StanzaTypeP384 => P384,
        _ => null,
    };

    public static EcCurveInfo? FromName(string name) => name.ToLowerInvariant() switch
    {
        "p256" or "p-256" or "nistp256" => P256,
        "p384" or "p-384" or "nistp384" => P384,
        _ => null,
    };

    /// <summary>Maps a key's curve (by OID or friendly name) to one of ours, or null if unsupported.</summary>
    public static EcCurveInfo? FromKey(ECParameters parameters)
    {
        if (!parameters.Curve.IsNamed)
        {
            return null;
        }

        var oid = parameters.Curve.Oid;
        return oid.Value switch
        {
            "1.2.840.10045.3.1.7" => P256,
            "1.3.132.0.34" => P384,
            _ => oid.FriendlyName switch
            {
                "nistP256" or "ECDSA_P256" or "prime256v1" or "secp256r1" => P256,
                "nistP384" or "ECDSA_P384" or "secp384r1" => P384,
                _ => null,
            },
        };
    }

    /// <summary>A private scalar in [1, n-1] by rejection sampling (docs/format.md §9 fixes this order of draws).</summary>
    public byte[] DrawScalar(Randomness.IRandomSource random)
    {
        var scalar = new byte[ScalarLength];
        while (true)
        {
            random.Fill(scalar);
            if (scalar.AsSpan().IndexOfAnyExcept((byte)0) >= 0 && scalar.AsSpan().SequenceCompareTo(_order) < 0)
            {
                return scalar;
            }
        }
    }

    /// <summary>Imports a private scalar; the platform computes the public point.</summary>
    public ECDiffieHellman ImportPrivate(byte[] scalar)
    {
        var parameters = new ECParameters { Curve = Curve, D = scalar };
        try
        {
            return ECDiffieHellman.Create(parameters);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    /// <summary>Imports an uncompressed SEC1 point; null if it is not a valid point on this curve.</summary>
    public ECDiffieHellman? TryImportPoint(ReadOnlySpan<byte> point)
    {
        int coordinate = (PointLength - 1) / 2;
        if (point.Length != PointLength || point[0] != 0x04)
        {
            return null;
        }

        var parameters = new ECParameters
        {
            Curve = Curve,
            Q = new ECPoint { X = point.Slice(1, coordinate).ToArray(), Y = point.Slice(1 + coordinate).ToArray() },
        };
        try
        {
            return ECDiffieHellman.Create(parameters);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    public byte[] EncodePoint(ECDiffieHellman key)
    {
        var q = key.ExportParameters(includePrivateParameters: false).Q;
        var point = new byte[PointLength];
        point[0] = 0x04;
        q.X!.CopyTo(point, 1);
        q.Y!.CopyTo(point, 1 + q.X!.Length);
        return point;
    }
}
