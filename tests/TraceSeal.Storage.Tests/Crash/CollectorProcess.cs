using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace TraceSeal.Storage.Tests.Crash;

/// <summary>
/// The real `traceseal collector --config FILE` as a child process (`dotnet traceseal.dll`, built next to the
/// tests because this project references TraceSeal.Cli). Ready means the receiver logged its bound port
/// ("receiver otlp grpc|http listening on 127.0.0.1:PORT"), one per protocol, so port 0 works for every start.
/// </summary>
internal sealed partial class CollectorProcess : IAsyncDisposable
{
    private const int MaxLogLines = 200;
    private readonly Process _process;
    private readonly TaskCompletionSource<int> _httpPort = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _grpcPort = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _log = new();

    private CollectorProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    /// <param name="environment">Variables set for the child only (for example DOTNET_GCHeapHardLimit).</param>
    public static CollectorProcess Start(string configPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(DotnetHost(), [Path.Combine(AppContext.BaseDirectory, "traceseal.dll"), "collector", "--config", configPath])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var collector = new CollectorProcess(process);
        process.ErrorDataReceived += (_, e) => collector.OnLine(e.Data);
        process.OutputDataReceived += (_, e) => collector.OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            var exited = new InvalidOperationException($"the collector exited before it was ready:\n{collector.Log()}");
            collector._httpPort.TrySetException(exited);
            collector._grpcPort.TrySetException(exited);
        };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return collector;
    }

    /// <summary>The HTTP port, once the receiver logged "http listening on"; fails if the process exits first.</summary>
    public async Task<int> WaitReadyAsync(TimeSpan timeout) => await _httpPort.Task.WaitAsync(timeout).ConfigureAwait(false);

    /// <summary>The gRPC port, once the receiver logged "grpc listening on"; fails if the process exits first.</summary>
    public async Task<int> WaitGrpcReadyAsync(TimeSpan timeout) => await _grpcPort.Task.WaitAsync(timeout).ConfigureAwait(false);

    /// <summary>
    /// kill -9: SIGKILL to the collector (it starts no child processes). No handler, no flush, no block cut. Sent
    /// with kill(2) directly: Process.Kill(entireProcessTree: true) first lists every process on the machine to find
    /// children, and on a loaded machine the requests in flight finished during that listing, so the kill no longer
    /// landed under load (acknowledged = sent in every cycle).
    /// </summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited && NativeMethods.kill(_process.Id, NativeMethods.SigKill) != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGKILL) failed (errno {Marshal.GetLastPInvokeError()})");
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>SIGTERM (as `kill PID` or systemd would): the collector drains and cuts its blocks. Returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (NativeMethods.kill(_process.Id, NativeMethods.SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed (errno {Marshal.GetLastPInvokeError()})");
        }

        await _process.WaitForExitAsync().WaitAsync(timeout).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public string Log()
    {
        lock (_log)
        {
            return string.Join('\n', _log);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Enqueue(line);
            if (_log.Count > MaxLogLines)
            {
                _log.Dequeue();
            }
        }

        var m = Listening().Match(line);
        if (m.Success)
        {
            var port = m.Groups["protocol"].Value == "grpc" ? _grpcPort : _httpPort;
            port.TrySetResult(int.Parse(m.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The dotnet host that runs the tests (also for other child processes of the CLI, e.g. `traceseal compact`).</summary>
    internal static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";

    [GeneratedRegex(@"\b(?<protocol>grpc|http) listening on \S*?:(?<port>\d+)\b")]
    private static partial Regex Listening();

#pragma warning disable SYSLIB1054 // a few calls per test run; LibraryImport buys nothing here.
    private static class NativeMethods
    {
        public const int SigKill = 9;
        public const int SigTerm = 15;

        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);
    }
#pragma warning restore SYSLIB1054
}
