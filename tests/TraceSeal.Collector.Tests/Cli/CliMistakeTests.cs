using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TraceSeal.Cli;

namespace TraceSeal.Collector.Tests.Cli;

/// <summary>
/// Each user mistake from issue 15 gives one line naming the cause and the fix, and the README's exit code (1 failure,
/// 2 usage): never "Unhandled exception" and a stack trace. Runs the real `traceseal` in its own process, so its
/// standard error and exit code are what a user sees.
/// </summary>
public sealed class CliMistakeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-mistakes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Up_with_the_metrics_port_taken_names_the_key_the_file_and_the_flag()
    {
        using var taken = Listen(out int port);
        int grpc = FreePort(), http = FreePort();

        var (code, stderr) = await Traceseal("up", "--dir", _dir, "--grpc-port", $"{grpc}", "--http-port", $"{http}", "--metrics-port", $"{port}");

        Assert.Equal(1, code);
        string line = OneLine(stderr);
        Assert.StartsWith($"error: service::telemetry::metrics::address: cannot listen on 127.0.0.1:{port}: ", line, StringComparison.Ordinal);
        Assert.EndsWith($"(in {Path.Combine(_dir, "collector.yaml")}; or run up with --metrics-port PORT, which writes it there)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_with_the_grpc_port_taken_names_the_receiver_and_the_flags()
    {
        using var taken = Listen(out int port);

        var (code, stderr) = await Traceseal("up", "--dir", _dir, "--grpc-port", $"{port}", "--http-port", $"{FreePort()}", "--metrics-port", $"{FreePort()}");

        Assert.Equal(1, code);
        string line = OneLine(stderr);
        Assert.StartsWith("error: receivers::otlp::protocols: cannot listen on ", line, StringComparison.Ordinal);
        Assert.EndsWith("or run up with --grpc-port / --http-port, which write them there)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_recipient_key_given_as_identity_says_which_key_is_needed()
    {
        Assert.Equal(0, (await Traceseal("keys", "init", "--name", "reader", "--out", _dir)).Code);
        string recipient = Path.Combine(_dir, "reader.recipient.pem");

        var (code, stderr) = await Traceseal("query", "--store", _dir, "--identity", recipient, "--since", "1d");

        Assert.Equal(1, code);
        Assert.Equal($"error: {recipient}: this is a recipient (public) key: it can seal but not open; give the reader's identity key (NAME.identity.pem from `traceseal keys init`)", OneLine(stderr));
    }

    [Fact]
    public async Task A_private_key_given_to_certs_inspect_points_at_the_certificate()
    {
        Assert.Equal(0, (await Traceseal("certs", "init", "--out", _dir)).Code);
        string key = Path.Combine(_dir, "server.key");

        var (code, stderr) = await Traceseal("certs", "inspect", key);

        Assert.Equal(1, code);
        Assert.Equal($"error: {key}: no certificate found (it holds a private key; inspect the matching .crt file instead)", OneLine(stderr));
    }

    [Fact]
    public async Task A_bad_duration_is_a_usage_error_and_days_are_a_duration()
    {
        var (code, stderr) = await Traceseal("query", "--store", _dir, "--identity", Path.Combine(_dir, "none.pem"), "--since", "1 day");

        Assert.Equal(2, code);
        Assert.StartsWith("error: --since: \"1 day\" is not a duration", OneLine(stderr), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_port_flag_is_a_usage_error()
    {
        var (code, stderr) = await Traceseal("up", "--dir", _dir, "--grpc-port", "4318");

        Assert.Equal(2, code);
        Assert.Equal("error: --grpc-port 4318, --http-port 4318, --metrics-port 8888: each needs a port of its own", OneLine(stderr));
    }

    [Fact]
    public void An_unexpected_exception_is_one_line_too_and_says_how_to_get_the_stack_trace()
    {
        var error = new StringWriter();

        int code = TraceSeal.Cli.Commands.CommandErrors.Report(new NullReferenceException("Object reference not set to an instance of an object."), error);

        Assert.Equal(1, code);
        Assert.Equal("error: unexpected NullReferenceException: Object reference not set to an instance of an object. (this is a TraceSeal bug; run again with TRACESEAL_DEBUG=1 for the stack trace and report it)" + Environment.NewLine, error.ToString());
    }

    /// <summary>The one line a mistake must produce: nothing else on standard error, and no stack frame.</summary>
    private static string OneLine(string stderr)
    {
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.Contains("warn:", StringComparison.Ordinal) && !l.StartsWith("info:", StringComparison.Ordinal) && !l.StartsWith("[", StringComparison.Ordinal))
            .ToArray();
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Unhandled exception", StringComparison.Ordinal));
        return Assert.Single(lines, l => l.StartsWith("error:", StringComparison.Ordinal));
    }

    private static async Task<(int Code, string Stderr)> Traceseal(params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        await stdout;
        return (process.ExitCode, await stderr);
    }

    private static TcpListener Listen(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return listener;
    }

    private static int FreePort()
    {
        using var listener = Listen(out int port);
        return port;
    }
}
