using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>
/// The `hash` of the attributes and resource processors and the `hash_function: hmac-sha256` of redaction:
/// HMAC-SHA-256 under a key from `hash_key_file`, as lowercase hex. Upstream hashes with plain SHA-1 / SHA-256, so
/// anyone can hash every candidate of a low-entropy value (a user id, an e-mail address of a known domain, a phone
/// number) and find the one that matches; without the key that guess cannot be checked. The same key gives the same
/// output across restarts and collectors, so hashed values still join.
/// </summary>
internal sealed class KeyedHasher
{
    /// <summary>256 bits: the HMAC-SHA-256 block of security; shorter keys make the guessing cheaper again.</summary>
    public const int MinKeyBytes = 32;

    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly byte[] _key;

    private KeyedHasher(byte[] key) => _key = key;

    /// <summary>Reads the key file; throws <see cref="InvalidOperationException"/> with the <see cref="Check"/> message.</summary>
    public static KeyedHasher Load(string path)
    {
        string? problem = Check(path);
        if (problem is not null)
        {
            throw new InvalidOperationException($"{path}: {problem}");
        }

        return new KeyedHasher(File.ReadAllBytes(path));
    }

    /// <summary>Null when <paramref name="path"/> is a usable key file, else what is wrong and how to fix it (one line).</summary>
    public static string? Check(string path)
    {
        try
        {
            long length = new FileInfo(path).Length;
            if (length < MinKeyBytes)
            {
                return $"the hash key holds {length} bytes, at least {MinKeyBytes} random bytes are needed so hashed values cannot be guessed; create one with: head -c 32 /dev/urandom > {path} && chmod 600 {path}";
            }

            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOther) != 0)
            {
                return $"the hash key is accessible by group or others; whoever reads it can check guesses against hashed values: chmod 600 {path}";
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read the hash key: {e.Message}";
        }
    }

    /// <summary>HMAC of <paramref name="data"/> as 64 lowercase hex characters.</summary>
    public string Hash(ReadOnlySpan<byte> data)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, data, mac);
        return Convert.ToHexStringLower(mac);
    }

    public string Hash(string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = max > 256 ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented ?? stackalloc byte[256];
        try
        {
            int n = Encoding.UTF8.GetBytes(value, buffer);
            return Hash(buffer[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// A value's bytes as upstream's hasher takes them (UTF-8 string, 1 byte bool, 8 little-endian bytes for int and
    /// double), then HMAC. Bytes hash as themselves; arrays and maps as their protobuf encoding (upstream writes an
    /// empty string for them, which destroys what hashing is meant to keep: equal inputs, equal outputs).
    /// </summary>
    public string Hash(AnyValue? value)
    {
        Span<byte> scalar = stackalloc byte[8];
        switch (value?.ValueCase ?? AnyValue.ValueOneofCase.None)
        {
            case AnyValue.ValueOneofCase.StringValue:
                return Hash(value!.StringValue);
            case AnyValue.ValueOneofCase.BoolValue:
                scalar[0] = value!.BoolValue ? (byte)1 : (byte)0;
                return Hash(scalar[..1]);
            case AnyValue.ValueOneofCase.IntValue:
                BinaryPrimitives.WriteInt64LittleEndian(scalar, value!.IntValue);
                return Hash(scalar);
            case AnyValue.ValueOneofCase.DoubleValue:
                BinaryPrimitives.WriteDoubleLittleEndian(scalar, value!.DoubleValue);
                return Hash(scalar);
            case AnyValue.ValueOneofCase.BytesValue:
                return Hash(value!.BytesValue.Span);
            case AnyValue.ValueOneofCase.None:
                return Hash(ReadOnlySpan<byte>.Empty);
            default:
                return Hash(value!.ToByteArray());
        }
    }
}
