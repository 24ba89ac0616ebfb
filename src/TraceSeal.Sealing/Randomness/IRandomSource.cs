namespace TraceSeal.Sealing.Randomness;

/// <summary>
/// Where the sealer gets its randomness. Production uses <see cref="SystemRandomSource"/>; only the
/// test-vector generator injects a seeded source (docs/format.md §9).
/// </summary>
internal interface IRandomSource
{
    void Fill(Span<byte> destination);
}
