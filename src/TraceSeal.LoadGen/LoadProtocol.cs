namespace TraceSeal.LoadGen;

/// <summary>The three OTLP transports, named as OTEL_EXPORTER_OTLP_PROTOCOL names them.</summary>
internal enum LoadProtocol
{
    Grpc,
    HttpProtobuf,
    HttpJson,
}

internal static class LoadProtocols
{
    public const string SupportedText = "grpc, http/protobuf, http/json";

    public static bool TryParse(string? text, out LoadProtocol protocol)
    {
        switch (text)
        {
            case "grpc":
                protocol = LoadProtocol.Grpc;
                return true;
            case "http/protobuf":
                protocol = LoadProtocol.HttpProtobuf;
                return true;
            case "http/json":
                protocol = LoadProtocol.HttpJson;
                return true;
            default:
                protocol = default;
                return false;
        }
    }

    public static string Name(LoadProtocol protocol) => protocol switch
    {
        LoadProtocol.Grpc => "grpc",
        LoadProtocol.HttpProtobuf => "http/protobuf",
        _ => "http/json",
    };
}
