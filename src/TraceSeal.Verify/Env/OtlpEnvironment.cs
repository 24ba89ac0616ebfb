namespace TraceSeal.Verify.Env;

/// <summary>
/// The OTLP exporter settings an app resolves for traces (OpenTelemetry specification, "OpenTelemetry
/// Protocol Exporter" configuration): each OTEL_EXPORTER_OTLP_TRACES_X wins over OTEL_EXPORTER_OTLP_X.
/// Each value remembers which variable it came from, so findings can name it.
/// </summary>
internal sealed class OtlpEnvironment(IReadOnlyDictionary<string, string> variables)
{
    public const string Prefix = "OTEL_EXPORTER_OTLP_";
    public const string TracesPrefix = "OTEL_EXPORTER_OTLP_TRACES_";

    /// <summary>The variables that name files, and the signals that have their own variant of each.</summary>
    public static readonly string[] FileSuffixes = ["CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"];
    public static readonly string[] Signals = ["", "TRACES_", "METRICS_", "LOGS_"];

    public sealed record Setting(string Variable, string Value, string? Shadowed);

    public Setting? Endpoint => Resolve("ENDPOINT");

    public Setting? Insecure => Resolve("INSECURE");

    public Setting? Certificate => Resolve("CERTIFICATE");

    public Setting? ClientCertificate => Resolve("CLIENT_CERTIFICATE");

    public Setting? ClientKey => Resolve("CLIENT_KEY");

    /// <summary>grpc, http/protobuf or http/json (spec default http/protobuf).</summary>
    public Setting? Protocol => Resolve("PROTOCOL");

    /// <summary>Every file variable that is set, for every signal (general first), whether or not traces use it:
    /// a missing file is reported for each variable that names it.</summary>
    public IEnumerable<Setting> FileSettings()
    {
        foreach (string suffix in FileSuffixes)
        {
            foreach (string signal in Signals)
            {
                string name = Prefix + signal + suffix;
                if (Value(name) is { } value)
                {
                    yield return new Setting(name, value, null);
                }
            }
        }
    }

    private Setting? Resolve(string suffix)
    {
        string signal = TracesPrefix + suffix;
        string general = Prefix + suffix;
        string? generalValue = Value(general);
        if (Value(signal) is { } signalValue)
        {
            return new Setting(signal, signalValue, generalValue is null ? null : general);
        }

        return generalValue is null ? null : new Setting(general, generalValue, null);
    }

    /// <summary>Empty counts as unset, as in the SDKs.</summary>
    private string? Value(string name) => variables.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
}
