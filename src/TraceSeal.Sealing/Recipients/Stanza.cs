namespace TraceSeal.Sealing.Recipients;

/// <summary>
/// One recipient stanza (docs/format.md §3): type ‖ key id ‖ ephemeral point ‖ wrapped file key.
/// </summary>
internal sealed record Stanza(byte Type, byte[] KeyId, byte[] EphemeralPoint, byte[] WrappedFileKey);
