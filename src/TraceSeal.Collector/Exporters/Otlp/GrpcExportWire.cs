using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// Unary OTLP/gRPC over HTTP/2 written by hand (Grpc.Net.Client is not a dependency; the protocol is small).
/// </summary>
internal sealed class GrpcExportWire(OtlpTarget target, OtlpExporterHeaders headers, bool gzip) : ExportWire(target, headers, gzip)
{
    //  gRPC Length-Prefixed-Message (grpc/doc/PROTOCOL-HTTP2.md):
    //  +------------------+-------------------------------+-----------------+
    //  | Compressed-Flag  | Message-Length (uint32, BE)   | Message         |
    //  | 1 byte (0 or 1)  | 4 bytes                       | Message-Length  |
    //  +------------------+-------------------------------+-----------------+
    private const int PrefixLength = 5;

    private static readonly MediaTypeHeaderValue GrpcContentType = new("application/grpc");

    private static readonly string[] Paths =
    [
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    ];

    private readonly Uri[] _uris = [new(target.BaseUri, Paths[0]), new(target.BaseUri, Paths[1]), new(target.BaseUri, Paths[2])];

    public override byte[] PrepareBody(ReadOnlySpan<byte> payload)
    {
        byte[] frame;
        if (Gzip)
        {
            frame = Compress(payload, PrefixLength);
        }
        else
        {
            frame = new byte[PrefixLength + payload.Length];
            payload.CopyTo(frame.AsSpan(PrefixLength));
        }

        frame[0] = Gzip ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)(frame.Length - PrefixLength));
        return frame;
    }

    public override HttpRequestMessage CreateRequest(OtlpSignal signal, byte[] body, TimeSpan attemptTimeout)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = GrpcContentType;
        var request = new HttpRequestMessage(HttpMethod.Post, _uris[(int)signal])
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        AddHeaders(request);
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));

        // The server's deadline matches ours, so it stops working on a request we have given up on.
        long ms = Math.Max(1, (long)Math.Ceiling(attemptTimeout.TotalMilliseconds));
        request.Headers.TryAddWithoutValidation("grpc-timeout", ms.ToString(CultureInfo.InvariantCulture) + "m");
        request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "identity,gzip");
        if (Gzip)
        {
            request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        }

        return request;
    }

    public override async Task<AttemptResult> ReadAsync(HttpResponseMessage response, OtlpSignal signal, CancellationToken cancellationToken)
    {
        // The body first: trailers (grpc-status) are only available once it has been read to the end.
        byte[]? body = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return new AttemptResult(GrpcCodes.Internal, false, null, 0, "grpc: response message too large");
        }

        string? statusText = Header(response, "grpc-status");
        if (statusText is null || !int.TryParse(statusText, NumberStyles.None, CultureInfo.InvariantCulture, out int code))
        {
            // No gRPC status at all: a proxy or a non-gRPC server answered. Map its HTTP status (gRPC spec).
            int mapped = response.StatusCode == HttpStatusCode.OK ? GrpcCodes.Internal : UpstreamStatus.GrpcCodeFromHttpStatus((int)response.StatusCode);
            return new AttemptResult(mapped, false, null, 0, $"HTTP {(int)response.StatusCode} without grpc-status");
        }

        if (code != GrpcCodes.Ok)
        {
            UpstreamStatus.TryReadDetails(Header(response, "grpc-status-details-bin"), out Google.Rpc.Status? details, out TimeSpan? retryDelay);
            string message = Header(response, "grpc-message") is { } m ? Uri.UnescapeDataString(m) : details?.Message ?? string.Empty;
            return new AttemptResult(code, retryDelay is not null, retryDelay, 0, $"grpc-status {code}: {UpstreamStatus.Truncate(message)}");
        }

        (long rejected, string error) = ReadPartialSuccess(signal, Unframe(response, body));
        return new AttemptResult(code, false, null, rejected, UpstreamStatus.Truncate(error));
    }

    private static ReadOnlySpan<byte> Unframe(HttpResponseMessage response, byte[] body)
    {
        if (body.Length < PrefixLength)
        {
            return default;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        if (length > (uint)(body.Length - PrefixLength))
        {
            return default;
        }

        ReadOnlySpan<byte> message = body.AsSpan(PrefixLength, (int)length);
        if (body[0] == 0)
        {
            return message;
        }

        if (!string.Equals(Header(response, "grpc-encoding"), "gzip", StringComparison.OrdinalIgnoreCase))
        {
            return default;
        }

        try
        {
            using var input = new MemoryStream(body, PrefixLength, (int)length, writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            byte[] chunk = new byte[4096];
            int read;
            while ((read = gzip.Read(chunk)) > 0)
            {
                if (output.Length + read > MaxResponseBytes)
                {
                    return default;
                }

                output.Write(chunk, 0, read);
            }

            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return default;
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.TrailingHeaders.TryGetValues(name, out var trailer) ? trailer.FirstOrDefault()
        : response.Headers.TryGetValues(name, out var header) ? header.FirstOrDefault()
        : null;
}
