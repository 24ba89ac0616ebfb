using System.Diagnostics;

namespace TraceSeal.Pki.Tests;

/// <summary>Users check our files with openssl (the seeds' tool); it must parse them and agree with us.</summary>
public class OpenSslInteropTests
{
    [OpenSslFact]
    public void OpenSslParsesTheServerCertificateAndShowsTheSans()
    {
        using var dir = new TempDir();
        DevPki.Init(dir.Path, ["collector.internal", "127.0.0.1", "::1"]);

        string text = Run("x509", "-in", dir.File("server.crt"), "-noout", "-text");

        Assert.Contains("DNS:collector.internal", text);
        Assert.Contains("IP Address:127.0.0.1", text);
        Assert.Contains("IP Address:0:0:0:0:0:0:0:1", text);
        Assert.Contains("TLS Web Server Authentication", text);
        Assert.Contains("CA:FALSE", text);
    }

    [OpenSslFact]
    public void OpenSslVerifiesTheChainAndReadsTheKeys()
    {
        using var dir = new TempDir();
        DevPki.Init(dir.Path, ["localhost"], KeyAlgorithm.Rsa2048);

        Assert.Contains(": OK", Run("verify", "-CAfile", dir.File("ca.crt"), "-purpose", "sslserver", dir.File("server.crt")));
        Assert.Contains(": OK", Run("verify", "-CAfile", dir.File("ca.crt"), "-purpose", "sslclient", dir.File("client.crt")));
        Run("pkey", "-in", dir.File("client.key"), "-noout");

        // The key belongs to the certificate: same public key from both files.
        Assert.Equal(
            Run("x509", "-in", dir.File("server.crt"), "-noout", "-pubkey"),
            Run("pkey", "-in", dir.File("server.key"), "-pubout"));
    }

    private static string Run(params string[] args)
    {
        var start = new ProcessStartInfo(OpenSsl.Path!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"openssl {string.Join(' ', args)} failed: {stderr.Result}");
        return stdout;
    }
}
