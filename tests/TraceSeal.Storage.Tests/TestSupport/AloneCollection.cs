namespace TraceSeal.Storage.Tests.TestSupport;

/// <summary>
/// Test classes that measure this process's CPU time run in this collection: xunit runs it after the parallel ones,
/// with no other test class at the same time, so the process's CPU time is theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone (measures the process's CPU time)";
}
