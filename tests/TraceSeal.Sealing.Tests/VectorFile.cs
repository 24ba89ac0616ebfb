using System.Globalization;
using TraceSeal.Sealing.Recipients;

namespace TraceSeal.Sealing.Tests;

/// <summary>Reads a vector file (docs/format.md §9.2): `#` comments, then `key: value` lines, a key may repeat.</summary>
internal sealed class VectorFile
{
    private readonly Dictionary<string, List<string>> _fields;

    private VectorFile(Dictionary<string, List<string>> fields) => _fields = fields;

    public static VectorFile Load(string name)
    {
        var fields = new Dictionary<string, List<string>>();
        foreach (var line in File.ReadLines(Path.Combine(VectorGenerator.VectorsDirectory(), name + ".hex")))
        {
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            var key = line[..colon];
            if (!fields.TryGetValue(key, out var values))
            {
                fields[key] = values = [];
            }

            values.Add(line[(colon + 2)..]);
        }

        return new VectorFile(fields);
    }

    /// <summary>Every value of <paramref name="key"/>, in file order (none when absent).</summary>
    public IReadOnlyList<string> All(string key) => _fields.TryGetValue(key, out var values) ? values : [];

    public string One(string key) => _fields[key].Single();

    public byte[] Hex(string key) => Convert.FromHexString(One(key));

    public ObjectKind Kind => (ObjectKind)int.Parse(One("kind"), CultureInfo.InvariantCulture);

    public DateTimeOffset Created => DateTimeOffset.FromUnixTimeSeconds(long.Parse(One("created"), CultureInfo.InvariantCulture));

    public List<EcIdentity> Identities => All("identity").Select(ParseIdentity).ToList();

    private static EcIdentity ParseIdentity(string value)
    {
        var parts = value.Split(' ');
        return EcIdentity.FromScalar(EcCurveInfo.FromName(parts[0])!, Convert.FromHexString(parts[1]));
    }
}
