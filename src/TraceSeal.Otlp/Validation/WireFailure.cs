namespace TraceSeal.Otlp.Validation;

/// <summary>
/// The first failure found while reading. Holds only constant strings and an offset until the caller
/// asks for the <see cref="OtlpError"/>, so the success path never formats a message.
/// </summary>
internal struct WireFailure
{
    public string? Code;
    public string? Path;
    public string? Problem;
    public int Offset;

    /// <summary>Records the failure and returns false so callers can write <c>return f.Fail(...)</c>.</summary>
    public bool Fail(string code, string path, string problem, int offset)
    {
        Code = code;
        Path = path;
        Problem = problem;
        Offset = offset;
        return false;
    }

    // Names the field path and byte offset, never the bytes found there.
    public readonly OtlpError ToError() => new(Code ?? "invalid", $"{Path}: {Problem} (byte offset {Offset})");
}
