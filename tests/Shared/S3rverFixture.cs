using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace TraceSeal.Tests.Shared;

/// <summary>
/// A real S3-compatible server on loopback: `s3rver` (pinned in tests/interop/s3/package.json) with one bucket,
/// shared by the storage and verify tests (compiled into both, see their csproj),
/// its data in a temp directory the tests scan. Started once for the collection, killed at the end.
/// Credentials reach the code under test the way they do in production: the AWS SDK's default chain,
/// here AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (s3rver's built-in account S3RVER/S3RVER).
/// </summary>
public sealed partial class S3rverFixture : IDisposable
{
    public const string Bucket = "traceseal-test";
    private const string AccessKey = "S3RVER";
    private readonly Process _process;

    public S3rverFixture()
    {
        var interop = InteropDirectory();
        var script = Path.Combine(interop, "node_modules", "s3rver", "bin", "s3rver.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException(
                $"{script} is missing: the S3 tests need s3rver from npm; run npm ci --prefix tests/interop/s3");
        }

        DataDirectory = Directory.CreateTempSubdirectory("traceseal-s3rver-").FullName;
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", AccessKey);

        // --port 0: the kernel picks a free port and s3rver announces it once it is listening, so there is
        // no window in which another process could take a port we chose.
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { script, "--directory", DataDirectory, "--address", "127.0.0.1", "--port", "0", "--configure-bucket", Bucket, "--silent" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = interop,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stderr = _process.StandardError.ReadToEndAsync();
        int port = 0;
        var readLine = _process.StandardOutput.ReadLineAsync();
        while (port == 0)
        {
            // Bounded: a broken install must fail the run, not hang it.
            if (!readLine.Wait(TimeSpan.FromSeconds(60)) || readLine.Result is not { } line)
            {
                Kill();
                throw new InvalidOperationException($"s3rver did not announce its port: {(stderr.IsCompleted ? stderr.Result : "(still running)")}");
            }

            var m = Listening().Match(line);
            if (m.Success)
            {
                port = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                readLine = _process.StandardOutput.ReadLineAsync();
            }
        }

        // s3rver prints the line once listen() returned; one connect proves the port answers.
        using (var probe = new TcpClient())
        {
            probe.Connect("127.0.0.1", port);
        }

        _ = _process.StandardOutput.ReadToEndAsync(); // keep draining so the pipe never fills
        Endpoint = $"http://127.0.0.1:{port}";
    }

    /// <summary>s3rver's storage: every byte of every object (and its metadata) lands under here.</summary>
    public string DataDirectory { get; }

    public string Endpoint { get; }

    /// <summary>A raw client for the tests' own look at the bucket (listing, tampering).</summary>
    public AmazonS3Client Client() => new(new BasicAWSCredentials(AccessKey, AccessKey), new AmazonS3Config
    {
        ServiceURL = Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public async Task<List<string>> KeysAsync(string prefix)
    {
        using var client = Client();
        var response = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix });
        return (response.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    private static string InteropDirectory([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "interop", "s3"));

    [GeneratedRegex(@"listening on [^\s:]+:(\d+)")]
    private static partial Regex Listening();
}

[CollectionDefinition(Name)]
public sealed class S3rverCollection : ICollectionFixture<S3rverFixture>
{
    public const string Name = "s3rver";
}
