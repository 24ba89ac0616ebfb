using System.Buffers.Binary;
using System.Text;

namespace TraceSeal.Verify.Tests.Support;

/// <summary>Sealed object headers built byte by byte from docs/format.md §2–§3 (not with TraceSeal.Sealing), so
/// tests can make malformed ones. The payload after the header is filler: `verify data` never opens it.</summary>
internal static class SpecObjects
{
    public const byte P256 = 0x01;
    public const byte P384 = 0x02;

    public static byte[] Sealed(byte kind, string tenant, params (byte Type, byte KeyIdFill)[] stanzas)
    {
        byte[] tenantBytes = Encoding.UTF8.GetBytes(tenant);
        var bytes = new List<byte>();
        bytes.AddRange("TSEAL"u8.ToArray());
        bytes.Add(0x01);
        bytes.Add(kind);
        bytes.Add((byte)tenantBytes.Length);
        bytes.AddRange(tenantBytes);
        bytes.AddRange(new byte[16]); // object_id
        byte[] created = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(created, 1_700_000_040);
        bytes.AddRange(created);
        bytes.AddRange(new byte[32]); // payload_salt
        bytes.Add((byte)stanzas.Length);
        foreach (var (type, fill) in stanzas)
        {
            bytes.Add(type);
            bytes.AddRange(Enumerable.Repeat(fill, 16));
            bytes.AddRange(new byte[type == P384 ? 97 : 65]);
            bytes.AddRange(new byte[48]);
        }

        bytes.AddRange(new byte[32]); // header_mac
        bytes.AddRange(new byte[40]); // a chunk's worth of filler
        return [.. bytes];
    }

    public static string KeyId(byte fill) => string.Concat(Enumerable.Repeat(fill.ToString("x2"), 16));

    public static byte[] Frame(byte[] sealedObject)
    {
        byte[] frame = new byte[4 + sealedObject.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)sealedObject.Length);
        sealedObject.CopyTo(frame, 4);
        return frame;
    }
}
