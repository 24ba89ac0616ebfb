namespace TraceSeal.Verify.Endpoint;

/// <summary>`verify endpoint` inputs. Without <see cref="CaFile"/> the server chain is checked against the
/// system store (and said so); with it, against that CA only.</summary>
internal sealed record EndpointOptions(EndpointTarget Target)
{
    public string? CaFile { get; init; }

    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>Per network step: connect, handshake, one request.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Overridable for tests (expiry thresholds).</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>Null means look for `openssl` on PATH; empty means do not use openssl.</summary>
    public string? OpenSslPath { get; init; }
}
