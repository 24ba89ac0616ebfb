using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace TraceSeal.Verify.Data;

/// <summary>
/// Heuristic: does this file hold spans anyone can read? True when it parses as a protobuf
/// ExportTraceServiceRequest (or TracesData, the same layout) with at least one named span, or is
/// OTLP/JSON (the file exporter's format). Random or encrypted bytes essentially never parse to a
/// request with a named span.
/// </summary>
internal static class PlaintextOtlp
{
    public static bool Detect(byte[] content, out string what)
    {
        what = string.Empty;
        string head = Encoding.UTF8.GetString(content, 0, Math.Min(content.Length, 4096));
        if (head.Contains("\"resourceSpans\"", StringComparison.Ordinal) || head.Contains("\"resource_spans\"", StringComparison.Ordinal))
        {
            what = "OTLP/JSON spans";
            return true;
        }

        try
        {
            var request = ExportTraceServiceRequest.Parser.ParseFrom(content);
            // Count only: the report goes to CI logs and SARIF, so it must not repeat what it found (span contents).
            int spans = request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans)
                .Count(s => s.Name.Length > 0 && s.Name.All(c => !char.IsControl(c)));
            if (spans > 0)
            {
                what = $"OTLP protobuf spans ({spans} readable span(s))";
                return true;
            }
        }
        catch (InvalidProtocolBufferException)
        {
            // Not protobuf: the expected case for sealed or unrelated data.
        }

        return false;
    }
}
