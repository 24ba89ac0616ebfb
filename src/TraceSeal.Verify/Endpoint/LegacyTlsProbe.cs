using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace TraceSeal.Verify.Endpoint;

/// <summary>
/// TLS 1.0/1.1 cannot be offered by .NET's SslStream on current OpenSSL builds, so the probe runs
/// `openssl s_client -tls1_1 -cipher DEFAULT@SECLEVEL=0` (SECLEVEL 0 lets the client offer the old
/// versions at all). Without openssl the check is reported as not checked, never as passed.
/// </summary>
internal static partial class LegacyTlsProbe
{
    public sealed record Result(bool Checked, bool Accepted, string Detail);

    public static string? FindOpenSsl() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, OperatingSystem.IsWindows() ? "openssl.exe" : "openssl"))
            .FirstOrDefault(File.Exists);

    public static async Task<Result> RunAsync(EndpointTarget target, string? openssl, string? certFile, string? keyFile, TimeSpan timeout, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(openssl))
        {
            return new Result(false, false, "openssl is not on PATH; TLS 1.0/1.1 could not be offered");
        }

        var accepted = new List<string>();
        foreach (string version in new[] { "-tls1", "-tls1_1" })
        {
            string output = await SClientAsync(openssl, target, version, certFile, keyFile, timeout, ct).ConfigureAwait(false);
            if (Cipher().Match(output) is { Success: true } cipher && SessionProtocol().Match(output) is { Success: true } protocol)
            {
                accepted.Add($"{protocol.Groups[1].Value} ({cipher.Groups[1].Value})");
            }
        }

        return accepted.Count > 0
            ? new Result(true, true, $"the server accepted {string.Join(" and ", accepted)}")
            : new Result(true, false, "TLS 1.0 and 1.1 handshakes were refused");
    }

    private static async Task<string> SClientAsync(string openssl, EndpointTarget target, string version, string? certFile, string? keyFile, TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(openssl)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "s_client", "-connect", target.Authority, version, "-cipher", "DEFAULT@SECLEVEL=0" })
        {
            start.ArgumentList.Add(arg);
        }

        if (!IPAddress.TryParse(target.ServerName, out _))
        {
            start.ArgumentList.Add("-servername");
            start.ArgumentList.Add(target.ServerName);
        }

        // With the client certificate an mTLS server gets as far as it would for a real client, so a
        // refusal means the version, not the missing certificate.
        if (!string.IsNullOrEmpty(certFile) && !string.IsNullOrEmpty(keyFile))
        {
            start.ArgumentList.Add("-cert");
            start.ArgumentList.Add(certFile);
            start.ArgumentList.Add("-key");
            start.ArgumentList.Add(keyFile);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {openssl}");
        process.StandardInput.Close(); // EOF on stdin: s_client quits after the handshake
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return string.Empty;
        }

        return await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
    }

    /// <summary>s_client prints "New, TLSv1.0, Cipher is ECDHE-ECDSA-AES256-SHA" after a handshake (the
    /// version there is the cipher's, not the session's) and "New, (NONE), Cipher is (NONE)" without one.</summary>
    [GeneratedRegex(@"New, [^,]+, Cipher is ([A-Za-z0-9_\-]+)")]
    private static partial Regex Cipher();

    /// <summary>The session's version, from the SSL-Session block: "    Protocol  : TLSv1.1".</summary>
    [GeneratedRegex(@"^\s*Protocol\s*:\s*(TLSv1\.1|TLSv1|SSLv3)\s*$", RegexOptions.Multiline)]
    private static partial Regex SessionProtocol();
}
