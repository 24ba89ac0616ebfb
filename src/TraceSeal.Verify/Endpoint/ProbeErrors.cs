namespace TraceSeal.Verify.Endpoint;

/// <summary>Exceptions from SslStream/HttpClient nest the useful part (the alert, the reset) several levels deep.</summary>
internal static class ProbeErrors
{
    public static string Describe(Exception e)
    {
        var messages = new List<string>();
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            // A connection the server closed surfaces as "Cannot access a disposed object ... SslStream" from
            // HttpClient's HTTP/2 reader: an artefact of the close, not an observation about the server.
            if (current is ObjectDisposedException)
            {
                continue;
            }

            string message = current.Message.Trim().TrimEnd('.');
            if (message.Length > 0 && !messages.Contains(message))
            {
                messages.Add(message);
            }
        }

        return messages.Count == 0 ? "the connection was closed" : string.Join(": ", messages);
    }
}
