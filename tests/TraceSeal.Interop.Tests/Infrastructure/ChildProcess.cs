using System.Diagnostics;
using System.Text;

namespace TraceSeal.Interop.Tests.Infrastructure;

/// <summary>What a finished child process left behind.</summary>
internal sealed record ProcessResult(string FileName, IReadOnlyList<string> Arguments, int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() =>
        $"`{FileName} {string.Join(' ', Arguments)}` exited {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// Runs a tool with a clean environment: only the variables a test passes, plus PATH, a private HOME and
/// DOTNET_ROOT when the test host has one. Nothing leaks in from the machine (no OTEL_*, no proxies).
/// The process tree is always killed if it outlives the call.
/// </summary>
internal static class ChildProcess
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string> environment,
        string workingDirectory,
        TimeSpan timeout,
        string? standardInput = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        startInfo.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        startInfo.Environment["HOME"] = workingDirectory;
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } dotnetRoot)
        {
            startInfo.Environment["DOTNET_ROOT"] = dotnetRoot;
        }

        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        using var process = new Process { StartInfo = startInfo };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var stdoutClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderrClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data, stdoutClosed);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data, stderrClosed);

        process.Start();
        try
        {
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput).ConfigureAwait(false);
                await process.StandardInput.FlushAsync().ConfigureAwait(false);
            }

            process.StandardInput.Close();

            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
                await Task.WhenAll(stdoutClosed.Task, stderrClosed.Task).WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"`{fileName} {string.Join(' ', arguments)}` did not finish within {timeout.TotalSeconds:0}s\n--- stdout ---\n{Read(stdout)}\n--- stderr ---\n{Read(stderr)}");
            }

            return new ProcessResult(fileName, arguments, process.ExitCode, Read(stdout), Read(stderr));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static void Append(StringBuilder buffer, string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (buffer)
        {
            buffer.AppendLine(line);
        }
    }

    private static string Read(StringBuilder buffer)
    {
        lock (buffer)
        {
            return buffer.ToString();
        }
    }
}
