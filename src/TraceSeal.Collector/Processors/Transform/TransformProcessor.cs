using Google.Protobuf;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>
/// The shape every processor that changes telemetry shares: it admits everything (admission is the limiter's job)
/// and does its work in <see cref="Apply"/>, which the pipeline's <see cref="PayloadRewriter"/> calls.
/// </summary>
internal abstract class TransformProcessor(string id) : IProcessor, ITelemetryTransform
{
    public string Id { get; } = id;

    public SinkResult Admit(in ReceivedBatch batch) => SinkResult.Ok;

    public abstract bool Apply(IMessage request, TransformContext context);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Settings of a processor made of upstream's attribute actions (`attributes`, `resource`).</summary>
internal abstract class AttributeActionsSettings : ProcessorSettings, IProcessorFactory
{
    /// <summary>Required and non-empty, as upstream: a processor without actions is a mistake, not a no-op.</summary>
    public required IReadOnlyList<AttributeAction> Actions { get; init; }

    /// <summary>TraceSeal: the HMAC key of `hash` (required when an action hashes; see <see cref="KeyedHasher"/>).</summary>
    public string? HashKeyFile { get; init; }

    public IProcessor Create(string id, ILogger logger) =>
        Create(id, new AttributeActions(Actions, HashKeyFile is null ? null : KeyedHasher.Load(HashKeyFile)));

    protected abstract IProcessor Create(string id, AttributeActions actions);
}
