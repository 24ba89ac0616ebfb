using System.Security.Cryptography;

namespace TraceSeal.Sealing.Randomness;

/// <summary>The OS CSPRNG.</summary>
internal sealed class SystemRandomSource : IRandomSource
{
    public static readonly SystemRandomSource Instance = new();

    private SystemRandomSource()
    {
    }

    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
