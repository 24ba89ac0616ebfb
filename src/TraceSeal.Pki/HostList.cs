using System.Net;
using System.Net.Sockets;

namespace TraceSeal.Pki;

/// <summary>Splits `--hosts` style input into DNS names and IP addresses for a server certificate's SAN.</summary>
internal static class HostList
{
    public const string DefaultHosts = "localhost,127.0.0.1,::1";

    /// <summary>Accepts items that are themselves comma-separated, so the CLI can pass `--hosts` through unchanged.</summary>
    public static IReadOnlyList<string> Split(IEnumerable<string> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        var result = new List<string>();
        foreach (string item in hosts)
        {
            foreach (string part in (item ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!result.Contains(part, StringComparer.OrdinalIgnoreCase))
                {
                    result.Add(part);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// IPAddress.TryParse alone would turn "1234" or "10.1" into IPv4 addresses (legacy inet_aton forms);
    /// nobody means that in a host list, so IPv4 must be four dotted parts. "[::1]" is accepted as ::1.
    /// </summary>
    public static bool TryParseAddress(string host, out IPAddress address)
    {
        string candidate = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(candidate, out IPAddress? parsed)
            && (parsed.AddressFamily == AddressFamily.InterNetworkV6 ? candidate.Contains(':') : candidate.Split('.').Length == 4))
        {
            address = parsed;
            return true;
        }

        address = IPAddress.None;
        return false;
    }
}
