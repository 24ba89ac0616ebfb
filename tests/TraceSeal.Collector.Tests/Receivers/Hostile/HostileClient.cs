using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// What a hostile client does by hand, on loopback: raw TCP connections from a chosen local address (127.0.0.2 is
/// "another client" to the receiver), TLS + HTTP/2 connections that send frames no HttpClient would, and client
/// certificates with subjects DevPki would never issue. Every wait is bounded.
/// </summary>
internal static class HostileClient
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    /// <summary>The flooding client's address: loopback, but not the ordinary client's 127.0.0.1.</summary>
    public static readonly IPAddress FloodAddress = IPAddress.Parse("127.0.0.2");

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>A TCP connection from <paramref name="local"/> that sends nothing.</summary>
    public static async Task<Socket> ConnectAsync(int port, IPAddress local)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(local, 0));
        using var timeout = new CancellationTokenSource(Bound);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return socket;
    }

    /// <summary>True once the server closed (or reset) the connection; false if it is still open after <paramref name="within"/>.</summary>
    public static Task<bool> ClosedByServerAsync(Socket socket, TimeSpan within) => ClosedByServerAsync(new NetworkStream(socket, ownsSocket: false), within);

    /// <summary>True once the server closed (or reset) the stream; false if it is still open after <paramref name="within"/>.</summary>
    public static async Task<bool> ClosedByServerAsync(Stream stream, TimeSpan within)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(within);
        try
        {
            while (true)
            {
                if (await stream.ReadAsync(buffer, timeout.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>mTLS with ALPN h2, then the client preface and an empty SETTINGS frame: an HTTP/2 connection, no request.</summary>
    public static async Task<SslStream> OpenHttp2Async(int port, X509Certificate2 clientCertificate, X509Certificate2 trustedCa, IPAddress? local = null)
    {
        Socket socket = await ConnectAsync(port, local ?? IPAddress.Loopback);
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        using var timeout = new CancellationTokenSource(Bound);
        await ssl.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                ClientCertificates = [clientCertificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => TestSupport.ReceiverHarness.ChainsTo(certificate, trustedCa),
            },
            timeout.Token);
        await ssl.WriteAsync(Preface, timeout.Token);
        await ssl.WriteAsync(Frame(type: 0x4, flags: 0, payload: []), timeout.Token);
        await ssl.FlushAsync(timeout.Token);
        return ssl;
    }

    /// <summary>An HTTP/2 frame (RFC 9113 §4.1) on stream 0.</summary>
    public static byte[] Frame(byte type, byte flags, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), 0);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>A PING frame with 8 octets of opaque data.</summary>
    public static byte[] Ping(long data)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(payload, data);
        return Frame(type: 0x6, flags: 0, payload);
    }

    /// <summary>A client certificate with exactly <paramref name="subject"/> (several CNs, control characters...), signed by <paramref name="ca"/>.</summary>
    public static X509Certificate2 IssueClient(IssuedCertificate ca, X500DistinguishedName subject, IEnumerable<string>? dnsNames = null)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca.Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (dnsNames is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string dns in dnsNames)
            {
                san.AddDnsName(dns);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        using ECDsa caKey = ca.Certificate.GetECDsaPrivateKey()!;
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 certificate = request.Create(ca.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(12));
        X509Certificate2 withKey = certificate.CopyWithPrivateKey(key);

        // SslStream on Linux wants a certificate whose key it can use for the handshake: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
