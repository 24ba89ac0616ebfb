using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TraceSeal.LoadGen;

/// <summary>The end-of-run summary: a human table, or one JSON object for scripts (<c>--json</c>).</summary>
internal static class LoadReport
{
    public static string ToText(LoadResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(ci, $"target:       {r.Protocol} {r.Endpoint}  ({r.Connections} connection(s) x {r.Concurrency} in flight, {r.SpansPerRequest} spans/request, {r.RequestBytes:N0} bytes/request, rate {(r.TargetRate > 0 ? r.TargetRate.ToString("N0", ci) + " req/s" : "max")})");
        sb.AppendLine(ci, $"elapsed:      {r.ElapsedSeconds:F2} s");
        sb.AppendLine(ci, $"acknowledged: {r.Requests:N0} requests, {r.Spans:N0} spans");
        sb.AppendLine(ci, $"throughput:   {r.SpansPerSecond:N0} spans/s, {r.RequestsPerSecond:N0} requests/s");
        sb.AppendLine(ci, $"latency:      p50 {Ms(r.P50Micros)}  p90 {Ms(r.P90Micros)}  p99 {Ms(r.P99Micros)}  max {Ms(r.MaxMicros)}  (acknowledged requests)");
        sb.AppendLine(ci, $"errors:       {r.Errors:N0}");
        foreach (var (label, count) in r.ErrorsByStatus)
        {
            sb.AppendLine(ci, $"  {count,10:N0}  {label}");
        }

        sb.AppendLine(ci, $"client cpu:   {r.ClientCpuCores:F2} cores");
        return sb.ToString();
    }

    public static string ToJson(LoadResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("protocol", r.Protocol);
            w.WriteString("endpoint", r.Endpoint);
            w.WriteNumber("connections", r.Connections);
            w.WriteNumber("concurrency", r.Concurrency);
            w.WriteNumber("spans_per_request", r.SpansPerRequest);
            w.WriteNumber("request_bytes", r.RequestBytes);
            w.WriteNumber("target_rate", r.TargetRate);
            w.WriteNumber("elapsed_seconds", Math.Round(r.ElapsedSeconds, 3));
            w.WriteNumber("requests", r.Requests);
            w.WriteNumber("spans", r.Spans);
            w.WriteNumber("requests_per_second", Math.Round(r.RequestsPerSecond, 1));
            w.WriteNumber("spans_per_second", Math.Round(r.SpansPerSecond, 1));
            w.WriteStartObject("latency_us");
            w.WriteNumber("p50", r.P50Micros);
            w.WriteNumber("p90", r.P90Micros);
            w.WriteNumber("p99", r.P99Micros);
            w.WriteNumber("max", r.MaxMicros);
            w.WriteEndObject();
            w.WriteNumber("errors", r.Errors);
            w.WriteStartObject("errors_by_status");
            foreach (var (label, count) in r.ErrorsByStatus)
            {
                w.WriteNumber(label, count);
            }

            w.WriteEndObject();
            w.WriteNumber("client_cpu_cores", Math.Round(r.ClientCpuCores, 3));
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Ms(long micros) => (micros / 1000.0).ToString("F2", CultureInfo.InvariantCulture) + " ms";
}
