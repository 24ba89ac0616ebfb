namespace TraceSeal.OpenTelemetry.Tests.Infrastructure;

/// <summary>Polls an observable condition until it holds or a deadline passes; never a bare sleep.</summary>
internal static class Eventually
{
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"not reached within {timeout.TotalSeconds:0}s: {describe()}");
            }

            await Task.Delay(20);
        }
    }
}
