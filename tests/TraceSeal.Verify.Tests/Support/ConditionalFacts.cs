using TraceSeal.Verify.Endpoint;

namespace TraceSeal.Verify.Tests.Support;

/// <summary>xunit 2 has no runtime skip; a Fact whose Skip is set at discovery time is the idiom.</summary>
public sealed class OpenSslFactAttribute : FactAttribute
{
    public OpenSslFactAttribute()
    {
        if (LegacyTlsProbe.FindOpenSsl() is null)
        {
            Skip = "openssl is not on PATH";
        }
    }
}

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
