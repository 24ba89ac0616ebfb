namespace TraceSeal.Verify.Endpoint;

/// <summary>Exceptions from SslStream/HttpClient nest the useful part (the alert, the reset) several levels deep.</summary>
internal static class ProbeErrors
{
    public static string Describe(Exception e)
    {
        var messages = new List<string>();
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            string message = current.Message.Trim().TrimEnd('.');
            if (message.Length > 0 && !messages.Contains(message))
            {
                messages.Add(message);
            }
        }

        return string.Join(": ", messages);
    }
}
