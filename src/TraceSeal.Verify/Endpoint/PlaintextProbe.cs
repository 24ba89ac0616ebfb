using System.Net.Sockets;
using System.Text;

namespace TraceSeal.Verify.Endpoint;

/// <summary>
/// Speaks plaintext to the port and classifies the first bytes that come back. A TLS server answers
/// a plaintext request with an alert, garbage or a closed connection; a plaintext server answers it.
/// </summary>
internal static class PlaintextProbe
{
    /// <summary>RFC 9113 §3.4: the client connection preface, then an empty SETTINGS frame (§6.5).</summary>
    private static readonly byte[] H2cPreface =
    [
        .. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8,
        0x00, 0x00, 0x00, // length 0
        0x04,             // type SETTINGS
        0x00,             // flags
        0x00, 0x00, 0x00, 0x00, // stream 0
    ];

    /// <summary>nginx's answer on an ssl port: a 400 over plaintext that refuses the request.</summary>
    private const string NginxHttpsPortMessage = "plain HTTP request was sent to HTTPS port";

    public sealed record Reply(bool Answered, byte[] Bytes, string? Error);

    /// <summary>(accepted, what was seen)</summary>
    public static async Task<(bool Accepted, string Detail)> Http1Async(EndpointTarget target, TimeSpan timeout, CancellationToken ct)
    {
        string request = $"POST {target.HttpPath} HTTP/1.1\r\nHost: {target.Authority}\r\nContent-Type: application/x-protobuf\r\n" +
                         "Content-Length: 0\r\nConnection: close\r\n\r\n";
        var reply = await ExchangeAsync(target, Encoding.ASCII.GetBytes(request), timeout, ct).ConfigureAwait(false);
        if (!reply.Answered)
        {
            return (false, reply.Error ?? "connection closed without an answer");
        }

        string text = Encoding.ASCII.GetString(reply.Bytes);
        if (!text.StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return (false, $"answered with {Describe(reply.Bytes)}, not HTTP");
        }

        string statusLine = text.Split("\r\n", 2)[0];
        return text.Contains(NginxHttpsPortMessage, StringComparison.Ordinal)
            ? (false, $"refused: \"{statusLine}\" ({NginxHttpsPortMessage})")
            : (true, $"a plaintext request was answered: \"{statusLine}\"");
    }

    public static async Task<(bool Accepted, string Detail)> H2cAsync(EndpointTarget target, TimeSpan timeout, CancellationToken ct)
    {
        var reply = await ExchangeAsync(target, H2cPreface, timeout, ct).ConfigureAwait(false);
        if (!reply.Answered)
        {
            return (false, reply.Error ?? "connection closed without an answer");
        }

        // A 9-byte frame header (RFC 9113 §4.1): length(24) type(8) flags(8) R+stream(32); the server's
        // preface is a SETTINGS frame (type 0x4) on stream 0.
        byte[] b = reply.Bytes;
        bool settings = b.Length >= 9 && b[3] == 0x04 && (b[5] & 0x7F) == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0;
        return settings
            ? (true, "the server answered the HTTP/2 preface with SETTINGS: gRPC without TLS is accepted")
            : (false, $"answered with {Describe(b)}");
    }

    private static async Task<Reply> ExchangeAsync(EndpointTarget target, byte[] payload, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        using var tcp = await ConnectAsync(target, cts.Token, ct).ConfigureAwait(false);
        try
        {
            var stream = tcp.GetStream();
            await stream.WriteAsync(payload, cts.Token).ConfigureAwait(false);
            var buffer = new byte[512];
            int read = await stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
            return read == 0 ? new Reply(false, [], "connection closed without an answer") : new Reply(true, buffer[..read], null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Reply(false, [], $"no answer within {timeout.TotalSeconds:0.#}s");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return new Reply(false, [], $"connection reset ({(e.InnerException ?? e).Message})");
        }
    }

    internal static async Task<TcpClient> ConnectAsync(EndpointTarget target, CancellationToken timeout, CancellationToken ct)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(target.Host, target.Port, timeout).ConfigureAwait(false);
            return tcp;
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            tcp.Dispose();
            string why = e is SocketException s ? s.Message : "timed out";
            throw new EndpointUnreachableException($"cannot connect to {target.Authority}: {why}", e);
        }
    }

    /// <summary>A TLS alert record (RFC 8446 §5.1: type 21) is named; anything else is shown as hex.</summary>
    private static string Describe(byte[] bytes) =>
        bytes.Length >= 3 && bytes[0] == 0x15 && bytes[1] == 0x03
            ? "a TLS alert"
            : $"{bytes.Length} bytes ({Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 8)))}...)";
}
