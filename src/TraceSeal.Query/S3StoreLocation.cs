using TraceSeal.Storage.Objects;

namespace TraceSeal.Query;

/// <summary>
/// Where a collector with `sealed_store::s3` uploads its sealed blocks: `s3://BUCKET/PREFIX` plus how to
/// reach the server. Credentials come from the AWS SDK's default chain (environment, profile, roles).
/// </summary>
public sealed record S3StoreLocation(string Bucket, string Prefix)
{
    /// <summary>Null = AWS; a URL for MinIO, Ceph or a local test server.</summary>
    public string? Endpoint { get; init; }

    public string? Region { get; init; }

    /// <summary>MinIO and most self-hosted servers need path-style addressing.</summary>
    public bool ForcePathStyle { get; init; }

    public const string Scheme = "s3://";

    /// <summary>The object store this location names (reader and compaction; no SSE-KMS header: reads do not need one).</summary>
    internal S3ObjectStore CreateStore(string? sseKmsKeyId = null) =>
        new(Bucket, Prefix, Endpoint, Region, ForcePathStyle, sseKmsKeyId);

    public static bool IsS3Uri(string store) => store.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses `s3://BUCKET` or `s3://BUCKET/PREFIX` (the collector's `s3::prefix`).</summary>
    public static S3StoreLocation Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!IsS3Uri(uri))
        {
            throw new FormatException($"\"{uri}\" is not an s3:// URI");
        }

        var rest = uri[Scheme.Length..];
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        if (bucket.Length == 0)
        {
            throw new FormatException($"\"{uri}\" names no bucket; expected s3://BUCKET/PREFIX");
        }

        return new S3StoreLocation(bucket, prefix);
    }
}
