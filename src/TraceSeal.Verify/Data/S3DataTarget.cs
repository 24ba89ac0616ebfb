using Amazon;
using Amazon.Runtime;
using Amazon.S3;

namespace TraceSeal.Verify.Data;

/// <summary>
/// `verify data s3://BUCKET/PREFIX`: where a collector with `sealed_store::s3` uploads (the same URI and flags
/// as `traceseal query --store`). Parsed here rather than taken from TraceSeal.Query, which would bring the
/// sealing library into the verifier. Credentials come from the AWS SDK's default chain.
/// </summary>
internal sealed record S3DataTarget(string Bucket, string Prefix)
{
    public const string Scheme = "s3://";

    /// <summary>Null = AWS; a URL for MinIO, Ceph or a local test server.</summary>
    public string? Endpoint { get; init; }

    public string? Region { get; init; }

    public bool ForcePathStyle { get; init; }

    /// <summary>s3://BUCKET or s3://BUCKET/PREFIX, without a trailing slash.</summary>
    public string Display => Uri(Prefix);

    public static bool IsS3Uri(string target) => target.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>`s3://BUCKET` or `s3://BUCKET/PREFIX`; the prefix is a folder ("" or ending in '/') so "a" does not
    /// take in "ab/". A bad URI is an <see cref="ArgumentException"/>: a usage error.</summary>
    public static S3DataTarget Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!IsS3Uri(uri))
        {
            throw new ArgumentException($"\"{uri}\" is not an s3:// URI");
        }

        string rest = uri[Scheme.Length..];
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string bucket = slash < 0 ? rest : rest[..slash];
        string prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (bucket.Length == 0)
        {
            throw new ArgumentException($"\"{uri}\" names no bucket; expected s3://BUCKET/PREFIX");
        }

        return new S3DataTarget(bucket, prefix.Length == 0 ? "" : prefix + "/");
    }

    /// <summary>s3://BUCKET/KEY (a key or a folder, shown without its trailing slash).</summary>
    public string Uri(string key) => key.TrimEnd('/').Length == 0 ? $"{Scheme}{Bucket}" : $"{Scheme}{Bucket}/{key.TrimEnd('/')}";

    /// <summary>The same client settings as the collector's S3ObjectStore, so whatever it can write to this can read.</summary>
    public AmazonS3Client CreateClient()
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = ForcePathStyle,

            // Ranged GETs carry no whole-object checksum, and many S3-compatible servers send none.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrEmpty(Endpoint))
        {
            config.ServiceURL = Endpoint;

            // A self-hosted server has no region to discover; signatures still need a name.
            config.AuthenticationRegion = string.IsNullOrEmpty(Region) ? "us-east-1" : Region;
        }
        else if (!string.IsNullOrEmpty(Region))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(Region);
        }

        return new AmazonS3Client(config);
    }
}
