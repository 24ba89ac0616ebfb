namespace TraceSeal.Collector.Telemetry;

/// <summary>The self-telemetry listener cannot start; the message names the key and the fix.</summary>
internal sealed class TelemetryStartException(string message, Exception? inner = null) : Exception(message, inner);
