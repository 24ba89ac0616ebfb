namespace TraceSeal.Verify.Output;

internal enum OutputFormat
{
    Text,
    Json,
    Sarif,
}
