using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace TraceSeal.Otlp;

/// <summary>
/// google.rpc.Status with an optional google.rpc.RetryInfo detail. OTLP uses it for grpc-status-details-bin
/// and for OTLP/HTTP error bodies; RetryInfo.retry_delay tells a throttled client when to retry
/// (OTLP spec "OTLP/gRPC Throttling").
/// </summary>
public static class RpcStatus
{
    // JSON needs to resolve the Any in details back to RetryInfo.
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(TypeRegistry.FromMessages(RetryInfo.Descriptor)));

    public static byte[] ToProtobuf(int grpcCode, string message, TimeSpan? retryDelay = null)
        => Build(grpcCode, message, retryDelay).ToByteArray();

    public static byte[] ToJson(int grpcCode, string message, TimeSpan? retryDelay = null)
        => System.Text.Encoding.UTF8.GetBytes(Formatter.Format(Build(grpcCode, message, retryDelay)));

    private static Google.Rpc.Status Build(int grpcCode, string message, TimeSpan? retryDelay)
    {
        ArgumentNullException.ThrowIfNull(message);
        var status = new Google.Rpc.Status { Code = grpcCode, Message = message };
        if (retryDelay is { } delay)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero, nameof(retryDelay));
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) }));
        }

        return status;
    }
}
