using System.Runtime.InteropServices;
using Google.Protobuf;
using TraceSeal.Otlp;

namespace TraceSeal.Query;

/// <summary>
/// Decodes stored records with the validator's limits. The collector accepts AnyValue nesting up to
/// <see cref="OtlpValidator.MaxAnyValueDepth"/> levels; each level is three messages (AnyValue, KeyValueList or
/// ArrayValue, KeyValue) below an envelope of at most 8 (request → resource → scope → metric → data point → exemplar
/// → attribute), so Google.Protobuf's default recursion limit (100) would refuse records the collector acknowledged.
/// A record that still cannot be decoded is reported by object and skipped: it was authenticated (so it is what the
/// collector wrote), and refusing the whole tenant for it would hide every other record.
/// </summary>
public static class RecordParser
{
    /// <summary>Same bound as OtlpJson's parser: 3 messages per AnyValue level plus the envelope.</summary>
    public const int RecursionLimit = 3 * OtlpValidator.MaxAnyValueDepth + 16;

    public static T Parse<T>(MessageParser<T> parser, ReadOnlyMemory<byte> payload)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        using var stream = MemoryMarshal.TryGetArray(payload, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(payload.ToArray(), writable: false);
        var input = CodedInputStream.CreateWithLimits(stream, int.MaxValue, RecursionLimit);
        return parser.ParseFrom(input);
    }

    /// <summary>Parses <paramref name="record"/>; on failure adds it to <paramref name="skipped"/> and returns false.</summary>
    public static bool TryParse<T>(MessageParser<T> parser, StoredRecord record, ICollection<SkippedRecord> skipped, out T message)
        where T : class, IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(skipped);
        try
        {
            message = Parse(parser, record.Payload);
            return true;
        }
        catch (InvalidProtocolBufferException e)
        {
            skipped.Add(new SkippedRecord(record.ObjectPath, record.Signal, e.Message));
            message = null!;
            return false;
        }
    }
}
