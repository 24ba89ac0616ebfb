using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TraceSeal.Verify.Tests.Support;

internal enum NginxMode
{
    Plaintext,
    Tls,
    MutualTls,
}

/// <summary>
/// Debian's nginx as a child process on loopback, the way an operator fronts a collector with it. Everything
/// nginx writes (pid, error log, temp directories) stays in a private directory; it runs in the foreground as a
/// single process (`daemon off; master_process off;`) as the current user, and is killed on dispose. A missing
/// nginx is a test failure, not a skip: CI installs it.
/// </summary>
internal sealed class NginxServer : IDisposable
{
    public const string InstallHint = "install nginx (apt-get install -y nginx)";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private NginxServer(Process process, string dir, int port)
    {
        _process = process;
        Dir = dir;
        Port = port;
    }

    public string Dir { get; }

    public int Port { get; }

    public string ErrorLog => File.Exists(Path.Combine(Dir, "error.log")) ? File.ReadAllText(Path.Combine(Dir, "error.log")) : string.Empty;

    public static string FindNginx() => FindNginx(
    [
        "/usr/sbin/nginx",
        .. (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "nginx")),
    ]);

    internal static string FindNginx(IEnumerable<string> candidates) =>
        candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException($"nginx not found in /usr/sbin or on PATH: {InstallHint}");

    /// <summary>Starts nginx with the server certificate (and, for mTLS, the client CA) of <paramref name="pki"/>.</summary>
    public static async Task<NginxServer> StartAsync(NginxMode mode, TestPki pki)
    {
        string nginx = FindNginx();

        // Another process can take the free port between FreePort.Get and nginx's bind: retry with a new one.
        for (int attempt = 1; ; attempt++)
        {
            string dir = Directory.CreateTempSubdirectory("traceseal-verify-nginx-").FullName;
            int port = FreePort.Get();
            File.WriteAllText(Path.Combine(dir, "nginx.conf"), Config(mode, pki, dir, port));
            var server = Start(nginx, dir, port);
            try
            {
                await server.WaitForPortAsync().ConfigureAwait(false);
                return server;
            }
            catch (NginxExitedException) when (attempt < 3 && server.ErrorLog.Contains("Address already in use", StringComparison.Ordinal))
            {
                server.Dispose();
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit();
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(Dir, recursive: true);
        }
    }

    private static NginxServer Start(string nginx, string dir, int port)
    {
        var start = new ProcessStartInfo(nginx)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };

        // -e: nginx opens its compiled-in error log (/var/log/nginx/error.log) before reading the config otherwise.
        foreach (string arg in new[] { "-p", dir + "/", "-c", Path.Combine(dir, "nginx.conf"), "-e", Path.Combine(dir, "error.log") })
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var server = new NginxServer(process, dir, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Polls the port until nginx accepts; the wait between attempts is also how an early exit
    /// (bad config, port taken) is noticed.</summary>
    private async Task WaitForPortAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using (var tcp = new TcpClient())
            {
                try
                {
                    await tcp.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                    return;
                }
                catch (SocketException)
                {
                    // not listening yet
                }
            }

            if (_process.WaitForExit(TimeSpan.FromMilliseconds(50)))
            {
                throw new NginxExitedException($"nginx exited with {_process.ExitCode} before listening on 127.0.0.1:{Port}: {Output()}");
            }

            if (deadline.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"nginx did not listen on 127.0.0.1:{Port} within {StartTimeout.TotalSeconds}s: {Output()}");
            }
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return $"{_output.ToString().Trim()} {ErrorLog.Trim()}".Trim();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static string Config(NginxMode mode, TestPki pki, string dir, int port)
    {
        var conf = new StringBuilder();
        conf.AppendLine("daemon off;");
        conf.AppendLine("master_process off;");
        conf.AppendLine("worker_processes 1;");

        // Run as the current user. As root nginx would hand its temp directories to "nobody", who cannot enter
        // this 0700 directory; as anyone else the user directive is ignored with a warning, so leave it out.
        if (Environment.UserName == "root")
        {
            conf.AppendLine("user root;");
        }

        conf.AppendLine($"pid {dir}/nginx.pid;");
        conf.AppendLine($"error_log {dir}/error.log info;");
        conf.AppendLine("events { worker_connections 64; }");
        conf.AppendLine("http {");
        conf.AppendLine("    access_log off;");
        foreach (string temp in new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" })
        {
            conf.AppendLine($"    {temp}_temp_path {dir}/{temp}_temp;");
        }

        conf.AppendLine("    server {");
        if (mode == NginxMode.Plaintext)
        {
            conf.AppendLine($"        listen 127.0.0.1:{port};");
        }
        else
        {
            conf.AppendLine($"        listen 127.0.0.1:{port} ssl;");
            conf.AppendLine($"        ssl_certificate {pki.ServerCertFile};");
            conf.AppendLine($"        ssl_certificate_key {pki.ServerKeyFile};");
            conf.AppendLine("        ssl_protocols TLSv1.2 TLSv1.3;");
            if (mode == NginxMode.MutualTls)
            {
                conf.AppendLine("        ssl_verify_client on;");
                conf.AppendLine($"        ssl_client_certificate {pki.CaFile};");
            }
        }

        // return discards the request body; the empty string keeps nginx from adding its own page.
        conf.AppendLine("        location /v1/traces { return 200 \"\"; }");
        conf.AppendLine("        location / { return 404; }");
        conf.AppendLine("    }");
        conf.AppendLine("}");
        return conf.ToString();
    }

    private sealed class NginxExitedException(string message) : Exception(message);
}
