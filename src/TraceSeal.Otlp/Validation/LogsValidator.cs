using static TraceSeal.Otlp.Validation.LogsFields;

namespace TraceSeal.Otlp.Validation;

/// <summary>Validates ExportLogsServiceRequest; counts log records.</summary>
internal static class LogsValidator
{
    public static bool ReadRequest(ReadOnlySpan<byte> message, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, 0);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ExportLogsServiceRequest", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field == ExportLogsServiceRequest_ResourceLogs
                ? reader.TryReadLength(wireType, "ExportLogsServiceRequest.resource_logs", ref failure, out ReadOnlySpan<byte> value, out int offset)
                    && ReadResourceLogs(value, offset, ref summary, ref failure)
                : reader.TrySkip(wireType, "ExportLogsServiceRequest", ref failure);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadResourceLogs(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ResourceLogs", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                ResourceLogs_Resource => reader.TryReadLength(wireType, "ResourceLogs.resource", ref failure, out value, out offset)
                    && CommonValidator.ReadResource(value, offset, ref failure, out _),
                ResourceLogs_ScopeLogs => reader.TryReadLength(wireType, "ResourceLogs.scope_logs", ref failure, out value, out offset)
                    && ReadScopeLogs(value, offset, ref summary, ref failure),
                ResourceLogs_SchemaUrl => reader.TryReadString(wireType, "ResourceLogs.schema_url", ref failure, out _),
                _ => reader.TrySkip(wireType, "ResourceLogs", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadScopeLogs(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ScopeLogs", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                ScopeLogs_Scope => reader.TryReadLength(wireType, "ScopeLogs.scope", ref failure, out value, out offset)
                    && CommonValidator.ReadScope(value, offset, ref failure),
                ScopeLogs_LogRecords => reader.TryReadLength(wireType, "ScopeLogs.log_records", ref failure, out value, out offset)
                    && ReadLogRecord(value, offset, ref summary, ref failure),
                ScopeLogs_SchemaUrl => reader.TryReadString(wireType, "ScopeLogs.schema_url", ref failure, out _),
                _ => reader.TrySkip(wireType, "ScopeLogs", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadLogRecord(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        ulong time = 0, observed = 0;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("LogRecord", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                LogRecord_TimeUnixNano => reader.TryReadFixed64(wireType, "LogRecord.time_unix_nano", ref failure, out time),
                LogRecord_ObservedTimeUnixNano => reader.TryReadFixed64(wireType, "LogRecord.observed_time_unix_nano", ref failure, out observed),
                LogRecord_SeverityNumber => reader.TryReadVarint(wireType, "LogRecord.severity_number", ref failure, out _),
                LogRecord_SeverityText => reader.TryReadString(wireType, "LogRecord.severity_text", ref failure, out _),
                LogRecord_Body => reader.TryReadLength(wireType, "LogRecord.body", ref failure, out value, out offset)
                    && CommonValidator.ReadAnyValue(value, offset, 1, ref failure, out _),
                LogRecord_Attributes => CommonValidator.ReadAttribute(ref reader, wireType, "LogRecord.attributes", ref failure),
                LogRecord_DroppedAttributesCount => reader.TryReadVarint(wireType, "LogRecord.dropped_attributes_count", ref failure, out _),
                LogRecord_Flags => reader.TryReadFixed32(wireType, "LogRecord.flags", ref failure, out _),
                // logs.proto: trace_id/span_id are optional; when present they are 16/8 bytes.
                LogRecord_TraceId => reader.TryReadLength(wireType, "LogRecord.trace_id", ref failure, out value, out offset)
                    && CommonValidator.CheckOptionalId(value, CommonValidator.TraceIdLength, "bad_trace_id", "LogRecord.trace_id", offset, ref failure),
                LogRecord_SpanId => reader.TryReadLength(wireType, "LogRecord.span_id", ref failure, out value, out offset)
                    && CommonValidator.CheckOptionalId(value, CommonValidator.SpanIdLength, "bad_span_id", "LogRecord.span_id", offset, ref failure),
                LogRecord_EventName => reader.TryReadString(wireType, "LogRecord.event_name", ref failure, out _),
                _ => reader.TrySkip(wireType, "LogRecord", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        // time_unix_nano is optional; observed time is what the collector can always rely on.
        ulong when = time != 0 ? time : observed;
        summary.Add(when, when);
        return true;
    }
}
