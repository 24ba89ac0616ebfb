using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Tests.Config;

/// <summary>
/// A temp directory with the files configs point at (dummy PEMs: the loader checks existence and PEM labels,
/// the receivers parse certificates), and a loader with an injected environment.
/// </summary>
internal sealed class ConfigFixture : IDisposable
{
    public ConfigFixture()
    {
        Dir = Directory.CreateTempSubdirectory("traceseal-config-").FullName;
        ConfigPath = System.IO.Path.Combine(Dir, "collector.yaml");
        foreach (var name in (string[])["server.crt", "ca.crt", "client-ca.crt", "client.crt"])
        {
            Write(name, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        }

        Write("server.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
        Write("client.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
        Write("keys/ops.recipient.pem", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n");
        Write("keys/audit.recipient.pem", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n");
        Write("keys/ops.identity.pem", "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n");
    }

    public string Dir { get; }

    public string ConfigPath { get; }

    public Dictionary<string, string> Env { get; } = [];

    /// <summary>Absolute path of a file in the fixture directory.</summary>
    public string Path(string relative) => System.IO.Path.GetFullPath(System.IO.Path.Combine(Dir, relative));

    public void Write(string relative, string text)
    {
        var full = Path(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    public CollectorConfig Parse(string yaml) =>
        CollectorConfigLoader.Parse(yaml, ConfigPath, new ConfigLoadOptions { GetEnvironmentVariable = n => Env.GetValueOrDefault(n) });

    /// <summary>Loads <paramref name="yaml"/>, expecting failure; returns every error as `file:line:col: path: message`.</summary>
    public string[] Errors(string yaml) =>
        [.. Assert.Throws<ConfigException>(() => Parse(yaml)).Errors.Select(e => e.ToString())];

    /// <summary>The expected rendering of an error or warning at <paramref name="line"/>:<paramref name="column"/>.</summary>
    public string At(int line, int column, string keyPathAndMessage) => $"{ConfigPath}:{line}:{column}: {keyPathAndMessage}";

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
