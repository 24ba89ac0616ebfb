using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Runtime.InteropServices;

namespace TraceSeal.Collector.Receivers;

/// <summary>Content codings both protocols accept (gRPC: gzip only; OTLP/HTTP: gzip and deflate).</summary>
internal enum ContentCoding
{
    Identity = 0,
    Gzip = 1,

    /// <summary>HTTP "deflate" is the zlib format (RFC 9110 §8.4.1.2), as upstream reads it.</summary>
    Deflate = 2,
}

internal enum PayloadResult
{
    Ok = 0,
    TooLarge = 1,
    Corrupt = 2,

    /// <summary>Inflated beyond max_decompression_ratio times the compressed size.</summary>
    RatioExceeded = 3,
}

/// <summary>Bounded body reading and decompression into pooled buffers: no step ever holds more than the limit.</summary>
internal static class Payloads
{
    private const int InflateChunk = 16 * 1024;

    /// <summary>
    /// A body may always inflate to this much, whatever its ratio: tiny requests (a few spans, mostly zeros) compress
    /// far better than 100x and cost nothing; the ratio is meant for bombs, which are large once inflated.
    /// </summary>
    public const long RatioFloorBytes = 64 * 1024;

    public static string RatioMessage(int ratio) =>
        $"decompressed body exceeds {ratio} times its compressed size (max_decompression_ratio); a body that inflates this much is refused as a compression bomb";

    /// <summary>Copies the whole body into <paramref name="into"/>; <see cref="PayloadResult.TooLarge"/> as soon as more than <paramref name="limit"/> bytes arrive.</summary>
    public static async ValueTask<PayloadResult> ReadBodyAsync(PipeReader reader, PooledBufferWriter into, long limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (into.WrittenCount + buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                return PayloadResult.TooLarge;
            }

            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                into.Write(segment.Span);
            }

            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return PayloadResult.Ok;
            }
        }
    }

    /// <summary>
    /// Inflates <paramref name="compressed"/> into <paramref name="output"/> and stops once more than
    /// <paramref name="limit"/> bytes come out (<see cref="PayloadResult.TooLarge"/>), or more than
    /// <paramref name="maxRatio"/> times the compressed size (at least <see cref="RatioFloorBytes"/>;
    /// <see cref="PayloadResult.RatioExceeded"/>): a gzip bomb costs at most that much memory and the time to
    /// inflate it, and is never stored.
    /// </summary>
    public static PayloadResult Inflate(ReadOnlyMemory<byte> compressed, ContentCoding coding, PooledBufferWriter output, long limit, int maxRatio = int.MaxValue)
    {
        long ratioLimit = Math.Max((long)compressed.Length * maxRatio, RatioFloorBytes);
        PayloadResult overLimit = ratioLimit < limit ? PayloadResult.RatioExceeded : PayloadResult.TooLarge;
        limit = Math.Min(limit, ratioLimit);
        if (compressed.IsEmpty)
        {
            return PayloadResult.Ok;
        }

        if (!MemoryMarshal.TryGetArray(compressed, out ArraySegment<byte> segment))
        {
            throw new ArgumentException("compressed payloads live in pooled arrays", nameof(compressed));
        }

        using var source = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
        using Stream inflater = coding == ContentCoding.Gzip
            ? new GZipStream(source, CompressionMode.Decompress)
            : new ZLibStream(source, CompressionMode.Decompress);
        try
        {
            while (true)
            {
                // Ask for no more than limit + 1 in total so the buffer never grows past what the check needs.
                int want = (int)Math.Clamp(limit + 1 - output.WrittenCount, 1, InflateChunk);
                int read = inflater.Read(output.GetSpan(want)[..want]);
                if (read == 0)
                {
                    return PayloadResult.Ok;
                }

                output.Advance(read);
                if (output.WrittenCount > limit)
                {
                    return overLimit;
                }
            }
        }
        catch (InvalidDataException)
        {
            return PayloadResult.Corrupt;
        }
        catch (PayloadTooLargeException)
        {
            return PayloadResult.TooLarge;
        }
    }
}
