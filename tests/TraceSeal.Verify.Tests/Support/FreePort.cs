using System.Net;
using System.Net.Sockets;

namespace TraceSeal.Verify.Tests.Support;

/// <summary>For servers that cannot report the port they bound (openssl s_server) and for "nothing listens here".</summary>
internal static class FreePort
{
    public static int Get()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
