namespace TraceSeal.Otlp;

/// <summary>gRPC status codes (grpc/doc/statuscodes.md); numeric values are fixed by the gRPC spec.</summary>
public static class GrpcCodes
{
    public const int Ok = 0, Cancelled = 1, Unknown = 2, InvalidArgument = 3, DeadlineExceeded = 4, NotFound = 5, AlreadyExists = 6, PermissionDenied = 7, ResourceExhausted = 8, FailedPrecondition = 9, Aborted = 10, OutOfRange = 11, Unimplemented = 12, Internal = 13, Unavailable = 14, DataLoss = 15, Unauthenticated = 16;
}
