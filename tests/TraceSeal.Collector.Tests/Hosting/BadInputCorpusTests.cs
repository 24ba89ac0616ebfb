using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Hosting;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>
/// The hostile-input corpus through the whole collector over mTLS: each input gets its status, nothing
/// reaches the exporter, and the collector keeps serving valid requests afterwards. (Oversized bodies by
/// Content-Length and chunked are covered in Receivers/OtlpHttpReceiverTests.)
/// </summary>
public sealed class BadInputCorpusTests : IAsyncLifetime
{
    private const string Marker = "corpus-marker-7f3a";
    private readonly MtlsHostEnvironment _env = new();
    private CollectorHost? _host;
    private HttpClient? _client;

    public async Task InitializeAsync()
    {
        var config = CollectorConfigLoader.Parse(MtlsHostEnvironment.Yaml(MtlsHostEnvironment.TracesPipeline), _env.ConfigPath);
        _host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await _host.StartAsync(CancellationToken.None);
        _client = _env.Client();
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _env.Dispose();
    }

    private string Url => $"https://localhost:{_host!.Receivers[0].HttpEndpoint!.Port}/v1/traces";

    public static TheoryData<string> Cases => new()
    {
        "truncated_varint", "wrong_wire_type", "length_overflow", "excessive_nesting", "bad_trace_id",
        "zero_span_id", "invalid_utf8", "invalid_json", "bad_hex_id_json", "json_wrong_type", "json_lone_surrogate", "json_invalid_utf8",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_input_is_400_with_a_status_body_and_the_collector_keeps_serving(string name)
    {
        var (body, json) = Build(name);

        var response = await _client!.PostAsync(Url, Content(body, json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        string message;
        if (json)
        {
            Assert.Contains("\"code\":3", Encoding.UTF8.GetString(bytes).Replace(" ", string.Empty, StringComparison.Ordinal));
            message = Encoding.UTF8.GetString(bytes);
        }
        else
        {
            var status = Google.Rpc.Status.Parser.ParseFrom(bytes);
            Assert.Equal(GrpcCodes.InvalidArgument, status.Code);
            Assert.False(string.IsNullOrWhiteSpace(status.Message));
            message = status.Message;
        }

        // Error messages describe the problem, never the payload.
        Assert.DoesNotContain(Marker, message, StringComparison.Ordinal);
        await AssertStillServing();
    }

    [Fact]
    public async Task A_gzip_bomb_is_413_and_the_collector_keeps_serving()
    {
        // 64 MiB of zeros compresses to ~64 KiB: small on the wire, over the 20 MiB limit once inflated.
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1024 * 1024];
            for (int i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }
        }

        var content = Content(compressed.ToArray(), json: false);
        content.Headers.ContentEncoding.Add("gzip");

        var response = await _client!.PostAsync(Url, content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertStillServing();
    }

    private async Task AssertStillServing()
    {
        var discard = (DiscardExporter)_host!.Exporters["discard"];
        long before = discard.Items(OtlpSignal.Traces);
        var ok = await _client!.PostAsync(Url, Content(MtlsHostEnvironment.Spans(3).ToByteArray(), json: false));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        // Only the valid request was counted: nothing from the bad one reached the exporter.
        Assert.Equal(before + 3, discard.Items(OtlpSignal.Traces));
    }

    private static ByteArrayContent Content(byte[] body, bool json)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(json ? "application/json" : "application/x-protobuf");
        return content;
    }

    private static (byte[] Body, bool Json) Build(string name)
    {
        switch (name)
        {
            case "truncated_varint":
                return ([0x0A, 0x80], false); // resource_spans, LEN, length varint cut after a continuation byte
            case "wrong_wire_type":
                return ([0x08, 0x01], false); // resource_spans as a varint
            case "length_overflow":
                return ([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07], false); // length 2^31-1, 0 bytes follow
            case "excessive_nesting":
            {
                var value = new AnyValue { StringValue = Marker };
                for (int i = 0; i < 1000; i++)
                {
                    value = new AnyValue { ArrayValue = new ArrayValue { Values = { value } } };
                }

                var request = MtlsHostEnvironment.Spans(1);
                request.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes.Add(new KeyValue { Key = "deep", Value = value });
                return (request.ToByteArray(), false);
            }

            case "bad_trace_id":
            {
                var request = MtlsHostEnvironment.Spans(1);
                request.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId = ByteString.CopyFrom(new byte[15] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 });
                return (request.ToByteArray(), false);
            }

            case "zero_span_id":
            {
                var request = MtlsHostEnvironment.Spans(1);
                request.ResourceSpans[0].ScopeSpans[0].Spans[0].SpanId = ByteString.CopyFrom(new byte[8]);
                return (request.ToByteArray(), false);
            }

            case "invalid_utf8":
            {
                var request = MtlsHostEnvironment.Spans(1);
                request.ResourceSpans[0].ScopeSpans[0].Spans[0].Name = "\u00e9" + Marker;
                var bytes = request.ToByteArray();
                int at = bytes.AsSpan().IndexOf([(byte)0xC3, (byte)0xA9]);
                bytes[at + 1] = 0x28; // C3 28: a lead byte without its continuation
                return (bytes, false);
            }

            case "invalid_json":
                return (Encoding.UTF8.GetBytes("{\"resourceSpans\": [{\"scopeSpans\": [" + Marker), true);
            case "bad_hex_id_json":
                return (Encoding.UTF8.GetBytes(
                    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz0102030405060708090a0b0c0d0e0f\"," +
                    "\"spanId\":\"0102030405060708\",\"name\":\"" + Marker + "\"}]}]}]}"), true);
            case "json_lone_surrogate": // found by bench/reliability/fuzz.sh (was HTTP 500)
                return (Encoding.UTF8.GetBytes("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"01000000000000008877665544332211\",\"spanId\":\"\\uD800\",\"name\":\"" + Marker + "\"}]}]}]}"), true);
            case "json_invalid_utf8":
                return ([.. Encoding.UTF8.GetBytes("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"" + Marker), 0xC3, 0x28, .. "\"}]}]}]}"u8], true);
            case "json_wrong_type":
                return (Encoding.UTF8.GetBytes("{\"resourceSpans\":\"" + Marker + "\"}"), true);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
    }
}
