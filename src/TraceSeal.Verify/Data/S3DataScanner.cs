using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using TraceSeal.Storage.Log;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Data;

/// <summary>
/// `verify data s3://BUCKET/PREFIX`: the directory checks (<see cref="ObjectChecks"/>) on every object under the
/// prefix, read with ranged GETs of the first bytes each check needs. Instead of file modes, whether objects
/// carry server-side encryption, as a warning only: SSE is defence in depth, the sealing protects the data.
/// Recipients are summed per store: the prefix above a `blocks/` folder (docs/format.md §12.1), else the target.
/// A store that cannot be listed is one failure ("could not list ..."), not a usage error.
/// </summary>
internal static class S3DataScanner
{
    private const int SseKeysShown = 5;

    public static async Task<Report> ScanAsync(S3DataTarget target, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(target);
        var report = new Report("data", target.Display);
        using var client = target.CreateClient();
        List<S3Object> objects;
        try
        {
            objects = await ListAsync(client, target, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreError(e, ct))
        {
            // Only the failure: passes for checks that never ran would be lies.
            report.Add(CheckResult.Finding(Catalogue.DataStoreReadable, $"could not list {target.Display}: {Describe(e)}"));
            return report;
        }

        var stores = new SortedDictionary<string, StoreSummary>(StringComparer.Ordinal);
        var sseMethods = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var withoutSse = new List<string>();
        int count = 0;
        foreach (var o in objects)
        {
            long length = o.Size ?? 0;
            if (length == 0 && o.Key.EndsWith('/'))
            {
                continue; // a folder placeholder some consoles create
            }

            string root = target.Uri(StoreRoot(target.Prefix, o.Key));
            if (!stores.TryGetValue(root, out var store))
            {
                store = new StoreSummary(root);
                stores.Add(root, store);
            }

            var at = new SourceLocation(target.Uri(o.Key), 1, 1);
            var reader = new RangeReader(client, target.Bucket, o.Key);
            try
            {
                // A sealed log (or v1 segment) is walked from its bytes: one GET of the object instead of one ranged GET per frame.
                ScanLog scan = async (v1, token) =>
                {
                    byte[] bytes = await reader.ReadAsync(0, (int)Math.Min(length, Array.MaxLength), token).ConfigureAwait(false);
                    return v1 ? LogScan.ScanV1(bytes) : LogScan.Scan(bytes);
                };
                await ObjectChecks.CheckAsync(report, store, o.Key, at, length, reader.ReadAsync, scan, ct).ConfigureAwait(false);
                string? sse = reader.Read ? reader.Sse : await HeadSseAsync(client, target.Bucket, o.Key, ct).ConfigureAwait(false);
                count++;
                if (string.IsNullOrEmpty(sse))
                {
                    withoutSse.Add(o.Key);
                }
                else
                {
                    sseMethods[sse] = sseMethods.GetValueOrDefault(sse) + 1;
                }
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && !reader.Read)
            {
                // Deleted between the listing and the first read (retention, compaction): nothing left to check.
            }
            catch (Exception e) when (IsStoreError(e, ct))
            {
                report.Add(CheckResult.Finding(Catalogue.DataStoreReadable, $"could not read: {Describe(e)}", at));
            }
        }

        foreach (var summary in stores.Values.Where(s => s.Objects > 0))
        {
            report.Add(CheckResult.Pass(Catalogue.DataNoRecipient, summary.Describe()));
        }

        if (withoutSse.Count > 0)
        {
            string keys = string.Join(", ", withoutSse.Take(SseKeysShown)) + (withoutSse.Count > SseKeysShown ? $" and {withoutSse.Count - SseKeysShown} more" : "");
            report.Add(CheckResult.Finding(Catalogue.DataServerSideEncryption,
                $"{withoutSse.Count} of {count} object(s) carry no server-side encryption (not required: they are sealed): {keys}"));
        }
        else if (count > 0)
        {
            report.Add(CheckResult.Pass(Catalogue.DataServerSideEncryption,
                $"all {count} object(s) carry server-side encryption: {string.Join(", ", sseMethods.Select(m => $"{m.Key} ({m.Value})"))}"));
        }

        foreach (var rule in Catalogue.S3DataRules)
        {
            if (!report.Results.Any(r => ReferenceEquals(r.Rule, rule)))
            {
                report.Add(CheckResult.Pass(rule, $"{rule.Title} ({count} objects)"));
            }
        }

        return report;
    }

    private static async Task<List<S3Object>> ListAsync(AmazonS3Client client, S3DataTarget target, CancellationToken ct)
    {
        var list = new List<S3Object>();
        var request = new ListObjectsV2Request { BucketName = target.Bucket, Prefix = target.Prefix };
        while (true)
        {
            var response = await client.ListObjectsV2Async(request, ct).ConfigureAwait(false);
            list.AddRange(response.S3Objects ?? []);
            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
            {
                break;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }

        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    /// <summary>The key up to (not including) its first `blocks/` folder below the prefix: the store it belongs to.</summary>
    private static string StoreRoot(string prefix, string key)
    {
        string relative = key[prefix.Length..];
        int blocks = ("/" + relative).IndexOf("/blocks/", StringComparison.Ordinal);
        return prefix + (blocks < 0 ? "" : relative[..blocks]);
    }

    private static async Task<string?> HeadSseAsync(AmazonS3Client client, string bucket, string key, CancellationToken ct)
    {
        var metadata = await client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, ct).ConfigureAwait(false);
        return metadata.ServerSideEncryptionMethod?.Value;
    }

    /// <summary>Network, server and credential failures; a cancellation the caller did not ask for is a timeout.</summary>
    private static bool IsStoreError(Exception e, CancellationToken ct) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested);

    private static string Describe(Exception e)
    {
        if (e is AmazonS3Exception s3 && !string.IsNullOrEmpty(s3.ErrorCode))
        {
            return $"{s3.Message} ({s3.ErrorCode}, HTTP {(int)s3.StatusCode})";
        }

        var messages = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (!string.IsNullOrWhiteSpace(x.Message) && !messages.Exists(m => m.Contains(x.Message, StringComparison.Ordinal)))
            {
                messages.Add(x.Message);
            }
        }

        return string.Join(": ", messages);
    }

    /// <summary>Ranged GETs of one object; remembers the server-side encryption the first response reports.</summary>
    private sealed class RangeReader(AmazonS3Client client, string bucket, string key)
    {
        public bool Read { get; private set; }

        public string? Sse { get; private set; }

        public async Task<byte[]> ReadAsync(long offset, int count, CancellationToken ct)
        {
            var request = new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(offset, offset + count - 1) };
            try
            {
                using var response = await client.GetObjectAsync(request, ct).ConfigureAwait(false);
                if (!Read)
                {
                    Read = true;
                    Sse = response.ServerSideEncryptionMethod?.Value;
                }

                using var buffer = new MemoryStream(count);
                await response.ResponseStream.CopyToAsync(buffer, ct).ConfigureAwait(false);
                return buffer.Length > count ? buffer.ToArray()[..count] : buffer.ToArray(); // never more than asked, whatever the server sent
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return []; // the object shrank since it was listed
            }
        }
    }
}
