namespace TraceSeal.Pki.Tests;

/// <summary>xunit 2 has no runtime skip; a Fact whose Skip is set at discovery time is the idiom.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "Unix file modes do not exist on Windows";
        }
    }
}

public sealed class OpenSslFactAttribute : FactAttribute
{
    public OpenSslFactAttribute()
    {
        if (OpenSsl.Path is null)
        {
            Skip = "openssl is not on PATH; install it to check that our certificates parse with openssl x509";
        }
    }
}

internal static class OpenSsl
{
    public static readonly string? Path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
        .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => System.IO.Path.Combine(dir, OperatingSystem.IsWindows() ? "openssl.exe" : "openssl"))
        .FirstOrDefault(File.Exists);
}
