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

    public sealed record Setting(string Variable, string Value, string? Shadowed);

    public Setting? Endpoint => Resolve("ENDPOINT");

    public Setting? Insecure => Resolve("INSECURE");

    public Setting? Certificate => Resolve("CERTIFICATE");

    public Setting? ClientCertificate => Resolve("CLIENT_CERTIFICATE");

    public Setting? ClientKey => Resolve("CLIENT_KEY");

    /// <summary>grpc, http/protobuf or http/json; only decides the ALPN offered when the endpoint is contacted.</summary>
    public Setting? Protocol => Resolve("PROTOCOL");

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
