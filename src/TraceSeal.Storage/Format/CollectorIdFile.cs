using System.Security.Cryptography;
using System.Text;
using TraceSeal.Sealing.Files;

namespace TraceSeal.Storage.Format;

/// <summary>
/// A collector's own prefix in a shared bucket (docs/format.md §15.3): `s3::prefix/collectors/ID/`. Without
/// `sealed_store::collector_id` the id is 16 random hex digits, generated at the first start and kept in
/// `DIRECTORY/collector.id` (0600), so a restart keeps writing under the same prefix. It carries nothing about the data.
/// </summary>
internal static class CollectorIdFile
{
    /// <summary>The id kept in <paramref name="directory"/>, made and written (atomically) if there is none yet.</summary>
    public static string LoadOrCreate(string directory)
    {
        var path = Path.Combine(directory, StoreFormat.CollectorIdFile);
        if (File.Exists(path))
        {
            var kept = File.ReadAllText(path, Encoding.UTF8).Trim();
            return StoreFormat.IsValidTenant(kept)
                ? kept
                : throw new InvalidOperationException($"{path}: \"{kept}\" is not a collector id; delete the file to generate a new one, or set sealed_store::collector_id");
        }

        DirectorySync.CreatePrivate(directory);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        AtomicFile.Write(directory, StoreFormat.CollectorIdFile, Encoding.UTF8.GetBytes(id + "\n"));
        return id;
    }

    /// <summary>`PREFIX/collectors/ID/` (the object-store prefix the collector's blocks go under).</summary>
    public static string Prefix(string? prefix, string collectorId)
    {
        var p = (prefix ?? "").Trim('/');
        return $"{(p.Length == 0 ? "" : p + "/")}{StoreFormat.CollectorsDir}/{collectorId}/";
    }
}
