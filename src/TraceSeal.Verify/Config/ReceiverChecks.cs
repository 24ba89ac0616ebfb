using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;
using static TraceSeal.Verify.Config.YamlNav;

namespace TraceSeal.Verify.Config;

/// <summary>Receivers are the ingress: every listening endpoint must have TLS, and TLS must mean mTLS.</summary>
internal static class ReceiverChecks
{
    /// <summary>Receivers with a top-level `endpoint` that is a listening server (not a scrape target:
    /// redis, mysql... also have `endpoint`, but as clients).</summary>
    private static readonly HashSet<string> ServerReceivers =
    [
        "zipkin", "opencensus", "signalfx", "splunk_hec", "sapm", "influxdb", "datadog", "webhookevent", "awsfirehose", "loki", "fluentforward",
    ];

    /// <summary>UDP protocols (jaeger thrift_compact/thrift_binary) cannot carry TLS; flagging them would be noise.</summary>
    private static readonly HashSet<string> UdpProtocols = ["thrift_compact", "thrift_binary"];

    public static void Run(LintContext context, YamlMappingNode root)
    {
        foreach (var (idNode, body) in Entries(Mapping(Get(root, "receivers"))))
        {
            string id = idNode.Value!;
            var settings = Mapping(body);
            if (Mapping(Get(settings, "protocols")) is { } protocols)
            {
                foreach (var (protoKey, protoBody) in Entries(protocols))
                {
                    if (!UdpProtocols.Contains(protoKey.Value!))
                    {
                        Server(context, protoKey, Mapping(protoBody), $"receivers.{id}.protocols.{protoKey.Value}");
                    }
                }
            }
            else if (ServerReceivers.Contains(TypeOf(id)))
            {
                Server(context, idNode, settings, $"receivers.{id}");
            }
        }
    }

    private static void Server(LintContext context, YamlScalarNode key, YamlMappingNode? settings, string where)
    {
        context.ServerEndpoints++;
        var (tlsKey, tls) = Entry(settings, "tls");
        var (allowKey, allow) = Entry(settings, "allow_plaintext");
        if (allowKey is not null && IsTrue(allow))
        {
            context.Add(Catalogue.AllowPlaintext, allowKey, $"{where}.allow_plaintext is true: TraceSeal serves this endpoint without TLS");
        }

        if (tlsKey is null || tls is not YamlMappingNode tlsMap)
        {
            context.Add(Catalogue.ReceiverWithoutTls, key, $"{where} has no tls block: it accepts plaintext");
            var (_, endpoint) = Entry(settings, "endpoint");
            if (endpoint is not null && ListensOnAllInterfaces(Text(endpoint)))
            {
                context.Add(Catalogue.WildcardWithoutTls, endpoint, $"{where}.endpoint {Text(endpoint)} listens on every interface without TLS");
            }

            return;
        }

        context.TlsBlocks++;
        context.ReceiverTlsBlocks++;
        TlsChecks.Server(context, tlsKey, tlsMap, where);
    }

    /// <summary>Only loopback hosts: 127.0.0.0/8, ::1 and localhost. An env reference or a pod IP is reachable from elsewhere.</summary>
    internal static bool IsLoopback(string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return false;
        }

        string e = endpoint.Trim();
        int colon = e.StartsWith('[') ? e.IndexOf(']', StringComparison.Ordinal) + 1 : e.LastIndexOf(':');
        string host = (colon > 0 ? e[..colon] : e).Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
    }

    /// <summary>"0.0.0.0:4317", "[::]:4317", "::", ":4317" (Go's empty host) all bind every interface.</summary>
    internal static bool ListensOnAllInterfaces(string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return false;
        }

        string e = endpoint.Trim();
        return e.StartsWith("0.0.0.0", StringComparison.Ordinal) || e.StartsWith("[::]", StringComparison.Ordinal)
            || e == "::" || (e.StartsWith(':') && !e.StartsWith("::", StringComparison.Ordinal));
    }
}
