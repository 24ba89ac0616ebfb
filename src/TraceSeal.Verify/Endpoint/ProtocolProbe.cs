using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Endpoint;

/// <summary>Which OTLP transports an endpoint serves, as seen in this run: true, false, or null (could not tell),
/// with the observations that decided it.</summary>
internal sealed record ProtocolObservation(bool? Grpc, bool? Http, string Detail)
{
    public string Name => (Grpc, Http) switch
    {
        (true, true) => "OTLP/gRPC and OTLP/HTTP",
        (true, _) => "OTLP/gRPC",
        (_, true) => "OTLP/HTTP",
        _ => "neither OTLP/gRPC nor OTLP/HTTP",
    };
}

/// <summary>
/// Finds out what an endpoint speaks instead of guessing from its port or scheme. Two handshakes offer one ALPN
/// each (`h2`, then `http/1.1`); then, when the TLS layer lets the prober in, one empty gRPC Export (a gRPC server
/// answers with grpc-status, whatever the status) and one empty POST /v1/traces (an OTLP/HTTP server answers
/// without grpc-status and not 404/405/415). Without an answer the ALPN result alone decides, and says it inferred:
/// gRPC needs HTTP/2, OTLP/HTTP receivers accept HTTP/1.1.
/// </summary>
internal static class ProtocolProbe
{
    private static readonly List<SslApplicationProtocol> H2 = [SslApplicationProtocol.Http2];
    private static readonly List<SslApplicationProtocol> Http11 = [SslApplicationProtocol.Http11];

    public static async Task<ProtocolObservation> ProbeAsync(EndpointTarget target, X509Certificate2? clientCertificate, TimeSpan timeout, CancellationToken ct)
    {
        bool? h2 = await AlpnAsync(target, clientCertificate, H2, "h2", timeout, ct).ConfigureAwait(false);
        bool? h1 = await AlpnAsync(target, clientCertificate, Http11, "http/1.1", timeout, ct).ConfigureAwait(false);
        var notes = new List<string> { $"ALPN h2 {Word(h2)}", $"ALPN http/1.1 {Word(h1)}" };

        bool? grpc = null;
        bool? http = null;
        if (h2 == true)
        {
            var answer = await ExportProbe.ExportAsync(target with { Grpc = true }, clientCertificate, timeout, ct).ConfigureAwait(false);
            grpc = !answer.Answered ? null : answer.GrpcStatus is not null;
            notes.Add(answer.Answered
                ? $"gRPC Export answered {(answer.GrpcStatus is null ? $"HTTP {answer.Status} without grpc-status" : $"grpc-status {answer.GrpcStatus}")}"
                : $"gRPC Export not answered ({answer.Detail})");
        }
        else if (h2 == false)
        {
            grpc = false;
        }

        if (h1 == true || h2 == true)
        {
            var answer = await ExportProbe.ExportAsync(target with { Grpc = false }, clientCertificate, timeout, ct, http2: h1 != true).ConfigureAwait(false);
            http = !answer.Answered ? null : answer.GrpcStatus is null && answer.Status is not (404 or 405 or 415);
            notes.Add(answer.Answered
                ? $"POST {target.HttpPath} answered HTTP {answer.Status}{(answer.GrpcStatus is null ? string.Empty : $" with grpc-status {answer.GrpcStatus}")}"
                : $"POST {target.HttpPath} not answered ({answer.Detail})");
        }
        else if (h1 == false && h2 == false)
        {
            http = false;
        }

        // No request got through (mutual TLS without a certificate): ALPN alone, said to be an inference.
        if (grpc is null && http is null)
        {
            if (h2 == true && h1 == false)
            {
                (grpc, http) = (true, false);
                notes.Add("inferred from ALPN: HTTP/2 only is a gRPC receiver (OTLP/HTTP receivers accept HTTP/1.1)");
            }
            else if (h1 == true && h2 == false)
            {
                (grpc, http) = (false, true);
                notes.Add("inferred from ALPN: no HTTP/2 means no gRPC");
            }
        }
        else if (grpc is null && h1 == true && http == true && h2 == false)
        {
            grpc = false;
        }

        return new ProtocolObservation(grpc, http, string.Join("; ", notes));
    }

    /// <summary>Compares what the app will send (<paramref name="expected"/>: grpc, http/protobuf, http/json) with
    /// what was seen. Could not tell = not checked, with the observations.</summary>
    public static CheckResult Compare(Rule rule, string expected, string source, EndpointTarget target, ProtocolObservation seen)
    {
        if (expected is not ("grpc" or "http/protobuf" or "http/json"))
        {
            return CheckResult.Finding(rule, $"{source}: unknown protocol \"{expected}\" (grpc, http/protobuf or http/json); SDKs refuse it or fall back to their default");
        }

        bool wantGrpc = expected == "grpc";
        string want = wantGrpc ? "OTLP/gRPC" : "OTLP/HTTP";
        return (wantGrpc ? seen.Grpc : seen.Http) switch
        {
            true => CheckResult.Pass(rule, $"{source}; {target.Authority} serves {want} ({seen.Detail})"),
            false => CheckResult.Finding(rule, $"{source}, but {target.Authority} does not serve {want} ({seen.Detail}): every export fails"),
            null => CheckResult.NotChecked(rule, $"could not tell whether {target.Authority} serves {want}: {seen.Detail}"),
        };
    }

    /// <summary>True when the server selected <paramref name="name"/>; false when it chose another or refused the
    /// handshake with no_application_protocol (RFC 7301 §3.2); null when the handshake failed for another reason
    /// (a server that aborts for the missing client certificate hides its choice).</summary>
    private static async Task<bool?> AlpnAsync(EndpointTarget target, X509Certificate2? clientCertificate, List<SslApplicationProtocol> offer, string name, TimeSpan timeout, CancellationToken ct)
    {
        using var tls = await TlsProbe.HandshakeAsync(target, clientCertificate, timeout, ct, offer).ConfigureAwait(false);
        if (tls.Completed)
        {
            return tls.Alpn == name || (name == "http/1.1" && string.IsNullOrEmpty(tls.Alpn));
        }

        return tls.Error?.Contains("application protocol", StringComparison.OrdinalIgnoreCase) == true ? false : null;
    }

    private static string Word(bool? value) => value switch
    {
        true => "negotiated",
        false => "refused",
        null => "not seen",
    };
}
