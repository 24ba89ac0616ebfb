using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TraceSeal.Sealing.Randomness;

namespace TraceSeal.Sealing.Tests;

/// <summary>
/// TEST ONLY. Deterministic "randomness" for test vectors (docs/format.md §9):
/// block i = HMAC-SHA-256(key = UTF-8(seed), message = i as u64 big-endian), blocks concatenated and
/// consumed in order. Anything sealed with it is reproducible by anyone, so it must never seal real data.
/// </summary>
internal sealed class SeededRandom(string seed) : IRandomSource
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(seed);
    private readonly byte[] _block = new byte[32];
    private ulong _counter;
    private int _used = 32;

    public void Fill(Span<byte> destination)
    {
        Span<byte> message = stackalloc byte[8];
        while (!destination.IsEmpty)
        {
            if (_used == _block.Length)
            {
                BinaryPrimitives.WriteUInt64BigEndian(message, _counter++);
                HMACSHA256.HashData(_key, message, _block);
                _used = 0;
            }

            int n = Math.Min(destination.Length, _block.Length - _used);
            _block.AsSpan(_used, n).CopyTo(destination);
            _used += n;
            destination = destination[n..];
        }
    }
}
