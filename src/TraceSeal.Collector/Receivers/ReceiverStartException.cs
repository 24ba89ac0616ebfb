namespace TraceSeal.Collector.Receivers;

/// <summary>
/// A receiver could not start. The message is written for the operator: the YAML key, the file or address,
/// what is wrong and what to do, e.g. <c>receivers::otlp::protocols::grpc::tls::cert_file: file not found: ...</c>.
/// </summary>
internal sealed class ReceiverStartException : Exception
{
    public ReceiverStartException(string message)
        : base(message)
    {
    }

    public ReceiverStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
