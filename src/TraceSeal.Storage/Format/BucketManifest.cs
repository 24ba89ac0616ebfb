// The bucket manifest of docs/format.md §15.2: the blocks of one hour bucket that a compaction committed, each with
// its summary. A sealed object (version 1, kind index) named `manifest-<generation:D10>.manifest` in the bucket
// folder; the highest generation listed is the bucket's manifest. Do not reorder or add fields; bump the version.
//
// MANIFEST PLAINTEXT (integers big-endian)
//   0   4   magic           "TSMF"
//   4   1   version         0x01
//   5   8   generation      ≥ 1, the number in the file name
//   13  2   n, then n bytes the bucket it describes, UTF-8: "blocks/<tenant>/<yyyy>/<MM>/<dd>/<HH>"
//       4   E, then E × [u32 length][summary plaintext (§15.1)]   the committed blocks, by object id
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TraceSeal.Storage.Format;

/// <summary>A bucket's committed blocks (<see cref="Entries"/>) and, through their inputs, the blocks they replaced.</summary>
internal sealed partial class BucketManifest
{
    public const byte Version = 0x01;
    public const string FilePrefix = "manifest-";

    public static ReadOnlySpan<byte> Magic => "TSMF"u8;

    public required ulong Generation { get; init; }

    /// <summary>`blocks/TENANT/yyyy/MM/dd/HH`: the bucket below whatever root (store prefix, collector prefix) holds it.</summary>
    public required string Bucket { get; init; }

    public required IReadOnlyList<BlockSummary> Entries { get; init; }

    /// <summary>`manifest-0000000042.manifest`.</summary>
    public static string FileName(ulong generation) =>
        string.Create(CultureInfo.InvariantCulture, $"{FilePrefix}{generation:D10}{StoreFormat.ManifestExtension}");

    /// <summary>The generation a manifest's file name carries; false for any other name.</summary>
    public static bool TryParseFileName(string fileName, out ulong generation)
    {
        generation = 0;
        var m = ManifestName().Match(fileName);
        return m.Success && ulong.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out generation) && generation > 0;
    }

    public byte[] Encode()
    {
        int bucketLength = Encoding.UTF8.GetByteCount(Bucket);
        int size = 13 + 2 + bucketLength + 4;
        foreach (var e in Entries)
        {
            size += 4 + e.EncodedSize;
        }

        var buffer = new byte[size];
        var w = new LayoutWriter(buffer);
        w.Bytes(Magic);
        w.U8(Version);
        w.U64(Generation);
        w.U16((ushort)bucketLength);
        w.Bytes(Encoding.UTF8.GetBytes(Bucket));
        w.U32((uint)Entries.Count);
        foreach (var e in Entries)
        {
            int length = e.EncodedSize;
            w.U32((uint)length);
            e.EncodeTo(buffer.AsSpan(w.Position, length));
            w.Position += length;
        }

        return w.Position == buffer.Length ? buffer : throw new InvalidOperationException("manifest size miscalculated");
    }

    /// <summary>False when the plaintext does not follow the layout (manifest_malformed).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, out BucketManifest? manifest)
    {
        manifest = null;
        var r = new LayoutReader(data);
        if (!r.Bytes(4, out var magic) || !magic.SequenceEqual(Magic) || !r.U8(out var version) || version != Version
            || !r.U64(out var generation) || generation == 0 || !r.U16(out var bucketLength) || !r.Bytes(bucketLength, out var bucket)
            || !r.Count(4, out var count))
        {
            return false;
        }

        var entries = new BlockSummary[count];
        for (int i = 0; i < count; i++)
        {
            if (!r.U32(out var length) || !r.Bytes((int)Math.Min(length, int.MaxValue), out var entry)
                || !BlockSummary.TryDecode(entry, out var summary))
            {
                return false;
            }

            entries[i] = summary!;
        }

        if (!r.AtEnd)
        {
            return false;
        }

        manifest = new BucketManifest { Generation = generation, Bucket = Encoding.UTF8.GetString(bucket), Entries = entries };
        return true;
    }

    [GeneratedRegex("^manifest-([0-9]{10})\\.manifest$")]
    private static partial Regex ManifestName();
}
