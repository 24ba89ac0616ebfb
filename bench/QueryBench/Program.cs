using System.Diagnostics;
using System.Globalization;
using TraceSeal.Query;
using TraceSeal.Sealing;

// QueryBench STORE IDENTITY REPS TRACE_ID...: one long-lived reader (what `serve` holds); the first lookup of each id
// is cold for this process (nothing cached), the next REPS rounds over all ids are warm; then REPS warm searches by
// service (bench-known, last hour) and REPS with no filter. Milliseconds, invariant culture.
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: QueryBench STORE IDENTITY REPS TRACE_ID...");
    return 2;
}

var identity = KeyFiles.LoadIdentity(args[1]);
var reader = new StoreReader(args[0], [identity], new StoreReaderOptions { IndexCacheBytes = 256L * 1024 * 1024 });
int reps = int.Parse(args[2], CultureInfo.InvariantCulture);
var ids = args[3..].Select(Convert.FromHexString).ToArray();
long spans = 0;
var first = Stopwatch.StartNew();
foreach (var id in ids)
{
    spans += reader.Query(new TraceQuery { TraceId = id }).SpanCount;
}

double firstMs = first.Elapsed.TotalMilliseconds / ids.Length;
var warm = new List<double>();
for (int r = 0; r < reps; r++)
{
    foreach (var id in ids)
    {
        var w = Stopwatch.StartNew();
        reader.Query(new TraceQuery { TraceId = id });
        warm.Add(w.Elapsed.TotalMilliseconds);
    }
}

// Searches as serve runs them (whole traces, default limit 20) through the same warm reader: by service over the
// last hour, and with no filter at all (bounded by the limit: the newest blocks only).
var since = DateTimeOffset.UtcNow.AddHours(-1);
var byService = Rounds(() => TraceSearch.WholeTraces(reader, new TraceQuery { Service = "bench-known", From = since }).TraceCount);
var noFilter = Rounds(() => TraceSearch.WholeTraces(reader, new TraceQuery()).TraceCount);

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"first_ms\":{firstMs:0.0},\"warm_p50_ms\":{P(warm, 0.5):0.00},\"warm_p90_ms\":{P(warm, 0.9):0.00},\"warm_max_ms\":{warm.Max():0.00},\"spans\":{spans},") +
    string.Create(CultureInfo.InvariantCulture,
    $"\"search_p50_ms\":{P(byService.Ms, 0.5):0.0},\"search_max_ms\":{byService.Ms.Max():0.0},\"search_traces\":{byService.Traces},\"nofilter_p50_ms\":{P(noFilter.Ms, 0.5):0.0},\"nofilter_traces\":{noFilter.Traces},\"cache_bytes\":{reader.CachedBytes}}}"));
return 0;

(List<double> Ms, int Traces) Rounds(Func<int> search)
{
    int traces = search(); // the first one fills the cache
    var ms = new List<double>();
    for (int r = 0; r < reps; r++)
    {
        var w = Stopwatch.StartNew();
        search();
        ms.Add(w.Elapsed.TotalMilliseconds);
    }

    return (ms, traces);
}

static double P(List<double> values, double q)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
}
