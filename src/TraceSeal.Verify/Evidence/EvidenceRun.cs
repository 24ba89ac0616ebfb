using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Evidence;

/// <summary>One check run of the evidence: the report, when it started and how long it took.</summary>
internal sealed record EvidenceRun(Report Report, DateTimeOffset StartedAt, TimeSpan Duration);

/// <summary>Where and by what the evidence was produced; written into both files.</summary>
internal sealed record EvidenceContext(DateTimeOffset GeneratedAt, string Host, string User, string WorkingDirectory, string ToolVersion, string CommandLine)
{
    public static EvidenceContext Current(string commandLine) => new(
        DateTimeOffset.UtcNow,
        System.Environment.MachineName,
        System.Environment.UserName,
        System.Environment.CurrentDirectory,
        ToolVersionOf(typeof(EvidenceContext).Assembly),
        commandLine);

    public static string ToolVersionOf(System.Reflection.Assembly assembly) =>
        assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
        ?? assembly.GetName().Version?.ToString() ?? "unknown";
}
