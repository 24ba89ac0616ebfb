namespace TraceSeal.Pki.Tests;

/// <summary>A fresh directory per test, removed afterwards, so no key material outlives the run.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("traceseal-pki-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
