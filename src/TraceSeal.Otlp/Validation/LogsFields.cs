namespace TraceSeal.Otlp.Validation;

/// <summary>Field numbers of opentelemetry/proto/{logs,collector/logs}/v1, named after the proto path.</summary>
internal static class LogsFields
{
    public const int ExportLogsServiceRequest_ResourceLogs = 1;

    public const int ResourceLogs_Resource = 1;
    public const int ResourceLogs_ScopeLogs = 2;
    public const int ResourceLogs_SchemaUrl = 3;

    public const int ScopeLogs_Scope = 1;
    public const int ScopeLogs_LogRecords = 2;
    public const int ScopeLogs_SchemaUrl = 3;

    public const int LogRecord_TimeUnixNano = 1;
    public const int LogRecord_SeverityNumber = 2;
    public const int LogRecord_SeverityText = 3;
    public const int LogRecord_Body = 5;
    public const int LogRecord_Attributes = 6;
    public const int LogRecord_DroppedAttributesCount = 7;
    public const int LogRecord_Flags = 8;
    public const int LogRecord_TraceId = 9;
    public const int LogRecord_SpanId = 10;
    public const int LogRecord_ObservedTimeUnixNano = 11;
    public const int LogRecord_EventName = 12;
}
