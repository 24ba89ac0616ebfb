using System.Diagnostics;
using System.Globalization;
using TraceSeal.Query;
using TraceSeal.Sealing;

// QueryBench STORE IDENTITY REPS TRACE_ID...: one long-lived reader; the first lookup of each id is cold for this
// process (nothing cached), the next REPS rounds over all ids are warm. Milliseconds, invariant culture.
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

warm.Sort();
double P(double q) => warm[Math.Min(warm.Count - 1, (int)(q * warm.Count))];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"first_ms\":{firstMs:0.0},\"warm_p50_ms\":{P(0.5):0.00},\"warm_p90_ms\":{P(0.9):0.00},\"warm_max_ms\":{warm[^1]:0.00},\"spans\":{spans},\"cache_bytes\":{reader.CachedBytes}}}"));
return 0;
