namespace TraceSeal.Pki;

/// <summary>The file-writing verbs behind `traceseal certs init` and `traceseal certs client`.</summary>
public static partial class DevPki
{
    /// <summary>Writes ca.crt ca.key server.crt server.key client.crt client.key (the names the OTel docs use).
    /// Nothing is written when any target exists and <paramref name="force"/> is false.</summary>
    public static IReadOnlyList<string> Init(string outDir, IEnumerable<string> hosts, KeyAlgorithm algorithm = KeyAlgorithm.EcdsaP256, string clientCommonName = "traceseal-client", bool force = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        IReadOnlyList<string> hostList = HostList.Split(hosts ?? []);
        if (hostList.Count == 0)
        {
            hostList = HostList.Split([HostList.DefaultHosts]);
        }

        string[] paths = [.. new[] { "ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key" }.Select(name => Path.Combine(outDir, name))];
        RefuseOverwrite(paths, force);
        SecureFile.EnsureDirectory(outDir);

        using IssuedCertificate ca = CreateCa(algorithm: algorithm);
        using IssuedCertificate server = IssueServer(ca, hostList[0], hostList, algorithm);
        using IssuedCertificate client = IssueClient(ca, clientCommonName, algorithm: algorithm);
        ca.WriteFiles(paths[0], paths[1]);
        server.WriteFiles(paths[2], paths[3]);
        client.WriteFiles(paths[4], paths[5]);
        return paths;
    }

    /// <summary>Issues NAME.crt and NAME.key in <paramref name="outDir"/>, signed by an existing CA.</summary>
    public static IReadOnlyList<string> IssueClientFiles(string caCertPath, string caKeyPath, string outDir, string name, IEnumerable<string>? dnsNames, IEnumerable<string>? uris, KeyAlgorithm algorithm, TimeSpan? validity, bool force = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        ValidateFileName(name);
        string[] paths = [Path.Combine(outDir, name + ".crt"), Path.Combine(outDir, name + ".key")];
        RefuseOverwrite(paths, force);

        using IssuedCertificate ca = Load(caCertPath, caKeyPath);
        using IssuedCertificate client = IssueClient(ca, name, dnsNames, uris, algorithm, validity);
        client.WriteFiles(paths[0], paths[1]);
        return paths;
    }

    private static void RefuseOverwrite(IEnumerable<string> paths, bool force)
    {
        string[] existing = [.. paths.Where(File.Exists)];
        if (existing.Length > 0 && !force)
        {
            // Overwriting a CA key silently would orphan every certificate already handed out.
            throw new IOException($"refusing to overwrite existing {string.Join(", ", existing)}; pass --force to replace them (certificates signed by an old ca.key stop verifying)");
        }
    }

    /// <summary>The name becomes both the CN and a file name, so it must not be able to escape outDir.</summary>
    private static void ValidateFileName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        bool ok = name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        if (!ok)
        {
            throw new ArgumentException($"client name '{name}' must use letters, digits, '-', '_' or '.', and not start with '.'", nameof(name));
        }
    }
}
