using System.Globalization;
using Microsoft.AspNetCore.Http;
using TraceSeal.Query;

namespace TraceSeal.Serve.Ui;

/// <summary>What the UI needs beyond the Tempo and Jaeger APIs: logs, and what the store is.</summary>
internal static class UiApi
{
    public const int MaxLogs = 1000;

    /// <summary>GET /api/traceseal/logs?q=TEXT&amp;service=S&amp;traceId=HEX&amp;minSeverity=N&amp;limit=N: newest first.</summary>
    public static async Task Logs(HttpContext context, TraceStore store)
    {
        var p = context.Request.Query;
        int limit = 100, minSeverity = 0;
        byte[]? traceId = null;
        if ((p["limit"].ToString() is { Length: > 0 } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLogs))
            || (p["minSeverity"].ToString() is { Length: > 0 } m && (!int.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out minSeverity) || minSeverity > 24)))
        {
            await ServeJson.Error(context, 400, $"limit: 1 to {MaxLogs}; minSeverity: 0 to 24").ConfigureAwait(false);
            return;
        }

        if (p["traceId"].ToString() is { Length: > 0 } t)
        {
            if (!TraceView.TryParseId(t, out var id))
            {
                await ServeJson.Error(context, 400, "traceId: up to 32 hex digits").ConfigureAwait(false);
                return;
            }

            traceId = Convert.FromHexString(TraceView.Hex(id));
        }

        string? q = p["q"], service = p["service"];
        var result = await store.LogsAsync(new SignalQuery
        {
            Text = q is { Length: > 0 and <= 1024 } ? q : null,
            Service = string.IsNullOrEmpty(service) ? null : service,
            TraceId = traceId,
            MinSeverity = minSeverity,
            Limit = limit,
        }, context.RequestAborted).ConfigureAwait(false);
        await ServeJson.Write(context, 200, w =>
        {
            w.WriteStartArray("logs");
            foreach (var row in result.Rows)
            {
                var log = row.Record;
                w.WriteStartObject();
                w.WriteString("timeUnixNano", row.TimeUnixNano.ToString(CultureInfo.InvariantCulture));
                w.WriteString("time", SignalSearch.Time(row.TimeUnixNano));
                w.WriteNumber("severityNumber", (int)log.SeverityNumber);
                w.WriteString("severityText", log.SeverityText);
                w.WriteString("service", row.Service);
                w.WriteString("body", SignalSearch.Render(log.Body));
                w.WriteString("traceId", log.TraceId.Length == 16 ? Convert.ToHexStringLower(log.TraceId.Span) : "");
                w.WriteString("spanId", log.SpanId.Length == 8 ? Convert.ToHexStringLower(log.SpanId.Span) : "");
                w.WriteStartObject("attributes");
                foreach (var kv in log.Attributes)
                {
                    w.WriteString(kv.Key, SignalSearch.Render(kv.Value));
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("overLimit", result.OverLimit);
        }).ConfigureAwait(false);
    }

    public static Task Info(HttpContext context, TraceStore store, string storeName) => ServeJson.Write(context, 200, w =>
    {
        w.WriteString("store", storeName);
        w.WriteBoolean("seesLiveWal", store.SeesLiveWal);
    });
}
