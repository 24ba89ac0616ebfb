using System.Runtime.CompilerServices;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Receivers;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>deploy/: the configs load with the collector's own loader, and the manifests agree with them and the seed.</summary>
public sealed class DeployConfigTests
{
    private static readonly string Deploy = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "../../../deploy"));

    [Fact]
    public void The_systemd_config_loads_and_writes_only_under_the_state_directory()
    {
        var config = CollectorConfigLoader.Load(Path.Combine(Deploy, "systemd/collector.yaml"), new ConfigLoadOptions { CheckFiles = false });

        var store = Assert.IsType<SealedStoreExporterSettings>(config.Exporters["sealed_store"]);
        Assert.StartsWith("/var/lib/traceseal/", store.Directory, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromDays(30), store.Retention.MaxAge);
        Assert.StartsWith("/etc/traceseal/certs/", config.Receivers[0].Grpc!.Tls!.ClientCaFile, StringComparison.Ordinal);
        Assert.Equal("localhost:13133", Assert.Single(config.Extensions).Endpoint);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void The_systemd_unit_is_hardened_and_gives_the_drain_time_to_stop()
    {
        string[] unit = File.ReadAllLines(Path.Combine(Deploy, "systemd/traceseal-collector.service"));

        foreach (string line in (string[])[
            "User=traceseal", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/traceseal", "ProtectHome=yes",
            "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "SystemCallFilter=@system-service", "StateDirectory=traceseal", "UMask=0077", "KillSignal=SIGTERM", "TimeoutStopSec=45s",
            "ExecStart=/opt/traceseal/traceseal collector --config /etc/traceseal/collector.yaml --log-format json"])
        {
            Assert.Contains(line, unit);
        }

        // Both would stop the collector from working (JIT code pages; /proc/meminfo for limit_percentage).
        Assert.DoesNotContain("MemoryDenyWriteExecute=yes", unit);
        Assert.DoesNotContain("ProcSubset=pid", unit);
    }

    [Fact]
    public void The_kubernetes_config_loads_and_its_certificate_paths_are_the_mounted_secret()
    {
        var docs = Documents("kubernetes/configmap.yaml", "kubernetes/deployment.yaml", "kubernetes/certificate.yaml", "kubernetes/service.yaml");
        string yaml = Scalar(Doc(docs, "ConfigMap", "traceseal-collector"), "data", "collector.yaml");
        string dir = Directory.CreateTempSubdirectory("traceseal-deploy-").FullName;
        try
        {
            var config = CollectorConfigLoader.Parse(yaml, Path.Combine(dir, "collector.yaml"), new ConfigLoadOptions { CheckFiles = false });

            var deployment = Doc(docs, "Deployment", "otel-collector");
            var pod = (YamlMappingNode)deployment["spec"]["template"]["spec"];
            var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children[0];
            var mounts = ((YamlSequenceNode)container["volumeMounts"]).Cast<YamlMappingNode>().ToList();
            var tlsMount = Assert.Single(mounts, m => Value(m, "name") == "tls");
            Assert.False(tlsMount.Children.ContainsKey("subPath"), "a subPath mount of the Secret is never updated by the kubelet");
            var tlsVolume = ((YamlSequenceNode)pod["volumes"]).Cast<YamlMappingNode>().Single(v => Value(v, "name") == "tls");
            var certificate = Doc(docs, "Certificate", "otel-collector-cert");
            Assert.Equal(Scalar(certificate, "spec", "secretName"), Scalar(tlsVolume, "secret", "secretName"));

            string mountPath = Value(tlsMount, "mountPath") + "/";
            foreach (var protocol in (OtlpProtocolSettings[])[config.Receivers[0].Grpc!, config.Receivers[0].Http!])
            {
                Assert.Equal(mountPath + "tls.crt", protocol.Tls!.CertFile);
                Assert.Equal(mountPath + "tls.key", protocol.Tls.KeyFile);
                Assert.Equal(mountPath + "ca.crt", protocol.Tls.ClientCaFile);
            }

            var store = Assert.IsType<SealedStoreExporterSettings>(config.Exporters["sealed_store"]);
            Assert.StartsWith(Value(mounts.Single(m => Value(m, "name") == "data"), "mountPath") + "/", store.Directory, StringComparison.Ordinal);
            Assert.Equal("0.0.0.0:13133", Assert.Single(config.Extensions).Endpoint);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_certificate_is_the_seeds_and_names_the_service()
    {
        var docs = Documents("kubernetes/certificate.yaml", "kubernetes/service.yaml");
        var certificate = Doc(docs, "Certificate", "otel-collector-cert");

        Assert.Equal("cert-manager.io/v1", Value(certificate, "apiVersion"));
        Assert.Equal("observability", Scalar(certificate, "metadata", "namespace"));
        Assert.Equal(
            ("otel-collector-tls", "2160h", "360h", "internal-ca", "ClusterIssuer", "otel-collector.observability.svc"),
            (Scalar(certificate, "spec", "secretName"), Scalar(certificate, "spec", "duration"), Scalar(certificate, "spec", "renewBefore"),
             Scalar(certificate, "spec", "issuerRef", "name"), Scalar(certificate, "spec", "issuerRef", "kind"), Scalar(certificate, "spec", "commonName")));
        var dnsNames = ((YamlSequenceNode)certificate["spec"]["dnsNames"]).Select(n => ((YamlScalarNode)n).Value!).ToArray();
        Assert.Equal(["otel-collector.observability.svc", "otel-collector.observability.svc.cluster.local"], dnsNames);

        var service = Doc(docs, "Service", "otel-collector");
        Assert.Contains($"{Scalar(service, "metadata", "name")}.{Scalar(service, "metadata", "namespace")}.svc", dnsNames);
    }

    private static List<YamlMappingNode> Documents(params string[] files)
    {
        var docs = new List<YamlMappingNode>();
        foreach (string file in files)
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(Path.Combine(Deploy, file))));
            docs.AddRange(stream.Documents.Select(d => (YamlMappingNode)d.RootNode));
        }

        return docs;
    }

    private static YamlMappingNode Doc(List<YamlMappingNode> docs, string kind, string name) =>
        Assert.Single(docs, d => Value(d, "kind") == kind && Scalar(d, "metadata", "name") == name);

    private static string Value(YamlMappingNode map, string key) => ((YamlScalarNode)map[key]).Value!;

    private static string Scalar(YamlMappingNode map, params string[] path)
    {
        YamlNode node = map;
        foreach (string key in path)
        {
            node = ((YamlMappingNode)node)[key];
        }

        return ((YamlScalarNode)node).Value!;
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
