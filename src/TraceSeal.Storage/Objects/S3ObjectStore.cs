using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace TraceSeal.Storage.Objects;

/// <summary>
/// S3-compatible object storage (AWS S3, MinIO, Ceph): key = PREFIX + the relative layout of docs/format.md
/// §12.1. Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
/// AWS_SESSION_TOKEN, AWS_PROFILE and the shared config files, web identity, container and instance roles);
/// <paramref name="credentials"/> overrides it for tests only. A PutObject is atomic: readers see the whole
/// object or nothing. With <paramref name="sseKmsKeyId"/> every put asks for SSE-KMS with that key — defence
/// in depth on top of the sealing, which is what actually protects the data.
/// </summary>
internal sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly string? _sseKmsKeyId;

    public S3ObjectStore(string bucket, string? prefix, string? endpoint, string? region, bool forcePathStyle, string? sseKmsKeyId, AWSCredentials? credentials = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        Bucket = bucket;
        Prefix = NormalizePrefix(prefix);
        _sseKmsKeyId = string.IsNullOrEmpty(sseKmsKeyId) ? null : sseKmsKeyId;
        var config = new AmazonS3Config
        {
            ForcePathStyle = forcePathStyle,

            // Our objects are sealed and authenticated end to end (AES-256-GCM, key commitment), so the SDK's
            // extra CRC trailers add nothing; they also need aws-chunked uploads that many S3-compatible
            // servers (older MinIO, Ceph, s3rver) do not decode. Checksums are sent only where S3 requires them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrEmpty(endpoint))
        {
            config.ServiceURL = endpoint;

            // A self-hosted server has no AWS region to discover; without one the SDK would probe the
            // instance metadata service. Signatures still need a region name: us-east-1 is what they expect.
            config.AuthenticationRegion = string.IsNullOrEmpty(region) ? "us-east-1" : region;
        }
        else if (!string.IsNullOrEmpty(region))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        _client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }

    public string Bucket { get; }

    /// <summary>"" or a '/'-terminated prefix.</summary>
    public string Prefix { get; }

    public string Describe(string key) => $"s3://{Bucket}/{Prefix}{key}";

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectKeys.Validate(key);
        using var body = new MemoryStream(data.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = Bucket,
            Key = Prefix + key,
            InputStream = body,
            ContentType = "application/octet-stream",

            // A plain signed PUT (no aws-chunked framing): see the checksum note in the constructor.
            UseChunkEncoding = false,
        };
        if (_sseKmsKeyId is not null)
        {
            request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AWSKMS;
            request.ServerSideEncryptionKeyManagementServiceKeyId = _sseKmsKeyId;
        }

        await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public Task<byte[]?> GetAsync(string key, int? firstBytes, CancellationToken cancellationToken) =>
        GetAsync(key, firstBytes is { } n ? new ByteRange(0, n - 1) : null, firstBytes, cancellationToken);

    /// <summary>A ranged GET (`Range: bytes=offset-end`): a reader opens one frame of a block without fetching the block.</summary>
    public Task<byte[]?> GetRangeAsync(string key, long offset, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count == 0 ? Task.FromResult<byte[]?>([]) : GetAsync(key, new ByteRange(offset, offset + count - 1), count, cancellationToken);
    }

    private async Task<byte[]?> GetAsync(string key, ByteRange? range, int? count, CancellationToken cancellationToken)
    {
        ObjectKeys.Validate(key);
        var request = new GetObjectRequest { BucketName = Bucket, Key = Prefix + key, ByteRange = range };
        try
        {
            using var response = await _client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);

            if (range is null || count is not { } max)
            {
                return buffer.ToArray();
            }

            // Never other bytes than asked for: a server that ignores Range answers 200 with the whole object.
            long start = response.HttpStatusCode == HttpStatusCode.PartialContent ? 0 : range.Start;
            return start >= buffer.Length ? [] : buffer.GetBuffer().AsSpan((int)start, (int)Math.Min(max, buffer.Length - start)).ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return []; // an empty object, or a range past its end: there is no byte to return
        }
    }

    public async Task<IReadOnlyList<ObjectEntry>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ObjectKeys.Validate(prefix, folder: true);
        var list = new List<ObjectEntry>();
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = Prefix + prefix };
        while (true)
        {
            var response = await _client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            foreach (var o in response.S3Objects ?? [])
            {
                if (o.Key.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    list.Add(new ObjectEntry(o.Key[Prefix.Length..], o.Size ?? 0, o.LastModified is { } t ? new DateTimeOffset(t.ToUniversalTime()) : DateTimeOffset.MinValue));
                }
            }

            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
            {
                break;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }

        // S3 lists in UTF-8 binary order, which is ordinal for our ASCII keys; sort anyway for other servers.
        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ObjectKeys.Validate(key);
        await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = Prefix + key }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>"a", "a/", "/a/" → "a/"; "" or "/" → "".</summary>
    public static string NormalizePrefix(string? prefix)
    {
        var p = (prefix ?? "").Trim('/');
        if (p.Length == 0)
        {
            return "";
        }

        ObjectKeys.Validate(p);
        return p + "/";
    }
}
