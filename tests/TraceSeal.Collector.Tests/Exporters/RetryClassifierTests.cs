using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;

namespace TraceSeal.Collector.Tests.Exporters;

/// <summary>The OTLP retry table, row by row (OTLP spec: protocol/otlp.md "Failures", exporter.md "Retry").</summary>
public sealed class RetryClassifierTests
{
    public static TheoryData<int?, bool, string> GrpcRows => new()
    {
        { 0, false, "Done" },         // OK
        { 1, false, "Retry" },        // CANCELLED
        { 2, false, "Permanent" },    // UNKNOWN
        { 3, false, "Permanent" },    // INVALID_ARGUMENT
        { 4, false, "Retry" },        // DEADLINE_EXCEEDED
        { 5, false, "Permanent" },    // NOT_FOUND
        { 6, false, "Permanent" },    // ALREADY_EXISTS
        { 7, false, "Permanent" },    // PERMISSION_DENIED
        { 8, false, "Permanent" },    // RESOURCE_EXHAUSTED without RetryInfo: the limit is not temporary
        { 8, true, "Retry" },         // RESOURCE_EXHAUSTED with RetryInfo
        { 9, false, "Permanent" },    // FAILED_PRECONDITION
        { 10, false, "Retry" },       // ABORTED
        { 11, false, "Retry" },       // OUT_OF_RANGE
        { 12, false, "Permanent" },   // UNIMPLEMENTED
        { 13, false, "Permanent" },   // INTERNAL
        { 14, false, "Retry" },       // UNAVAILABLE
        { 14, true, "Retry" },
        { 15, false, "Retry" },       // DATA_LOSS
        { 16, false, "Permanent" },   // UNAUTHENTICATED
        { null, false, "Retry" },     // no response: connection refused, reset, TLS failure, timeout
    };

    public static TheoryData<int?, string> HttpRows => new()
    {
        { 200, "Done" },
        { 202, "Done" },
        { 400, "Permanent" },
        { 401, "Permanent" },
        { 403, "Permanent" },
        { 404, "Permanent" },
        { 413, "Permanent" },
        { 415, "Permanent" },
        { 429, "Retry" },
        { 500, "Permanent" },
        { 501, "Permanent" },
        { 502, "Retry" },
        { 503, "Retry" },
        { 504, "Retry" },
        { null, "Retry" },
    };

    [Theory]
    [MemberData(nameof(GrpcRows))]
    public void Grpc_status_codes_are_classified_per_the_otlp_spec(int? code, bool hasRetryInfo, string expected) =>
        Assert.Equal(Enum.Parse<RetryDecision>(expected), RetryClassifier.Classify(OtlpExporterProtocol.Grpc, code, hasRetryInfo));

    [Theory]
    [MemberData(nameof(HttpRows))]
    public void Http_statuses_are_classified_per_the_otlp_spec(int? status, string expected) =>
        Assert.Equal(Enum.Parse<RetryDecision>(expected), RetryClassifier.Classify(OtlpExporterProtocol.Http, status, hasRetryInfo: false));
}
