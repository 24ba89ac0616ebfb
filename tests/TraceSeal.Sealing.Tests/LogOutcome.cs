using System.Buffers.Binary;
using static TraceSeal.Sealing.Format.FormatConstants;
using static TraceSeal.Sealing.SealedIntegrityException;

namespace TraceSeal.Sealing.Tests;

/// <summary>Where a log lies decides how its end is judged (docs/format.md §14.4). A recovered `.walseg` reads like
/// <see cref="Live"/> except that a torn last frame is `truncated_segment`, a store code this project does not know.</summary>
internal enum LogPlace
{
    /// <summary>A live segment: the end frame may be missing, and a torn last frame is still being written.</summary>
    Live,

    /// <summary>A block: a complete log, ending with its end frame.</summary>
    Block,
}

/// <summary>
/// TEST ONLY. Reads a whole sealed log by the rules of docs/format.md §14.3-§14.4, written from the spec rather than
/// from the store's walk (TraceSeal.Storage LogScan / LogReader), and reports one outcome as <see cref="Outcome"/>
/// does: "ok", "no_identity_match" or the integrity code of the first failure, in the order of §14.6: header
/// parse, the tail (keyless), header verification, then the frames by index.
/// </summary>
internal static class LogOutcome
{
    public static string Of(byte[] log, IReadOnlyList<IIdentity> identities, LogPlace place = LogPlace.Block, IReadOnlyList<byte[]>? expectedFrames = null)
    {
        try
        {
            var frames = Read(log, identities, place);
            if (expectedFrames is not null)
            {
                Assert.Equal(expectedFrames, frames);
            }

            return Outcome.Ok;
        }
        catch (SealedIntegrityException e)
        {
            Assert.Equal(OpaqueMessage, e.Message);
            return e.Code;
        }
        catch (NoIdentityMatchException)
        {
            return Outcome.NoIdentityMatch;
        }
    }

    /// <summary>The plaintexts of the data frames, in order; throws as a reader does.</summary>
    public static List<byte[]> Read(byte[] log, IReadOnlyList<IIdentity> identities, LogPlace place)
    {
        // 1. The header, without a key: its length comes from its own bytes (§2).
        SealedObjectInfo info;
        try
        {
            info = Sealer.ReadHeader(log);
        }
        catch (SealedIntegrityException e) when (e.Code == Truncated && place == LogPlace.Live)
        {
            return []; // a live segment whose first write is under way: nothing acknowledged yet
        }

        if (info.Version != Version2)
        {
            throw new SealedIntegrityException(UnsupportedVersion);
        }

        // 2. The frames, from their length prefixes alone (§14.3).
        const int endFrameSealedLength = LogEndFrameLength - LogFrameLengthPrefix;
        var frames = new List<(int Start, int Length)>();
        bool torn = false;
        int pos = info.HeaderLength;
        while (pos < log.Length)
        {
            if (frames.Count > 0 && frames[^1].Length == endFrameSealedLength)
            {
                throw new SealedIntegrityException(TrailingData);
            }

            uint length = log.Length - pos >= LogFrameLengthPrefix ? BinaryPrimitives.ReadUInt32BigEndian(log.AsSpan(pos)) : 0;
            if (length < endFrameSealedLength || length > (uint)(log.Length - pos - LogFrameLengthPrefix))
            {
                torn = true;
                break;
            }

            frames.Add((pos + LogFrameLengthPrefix, (int)length));
            pos += LogFrameLengthPrefix + (int)length;
        }

        // 3. The tail, judged by place (§14.4): a block must end with its end frame.
        bool complete = !torn && frames.Count > 0 && frames[^1].Length == endFrameSealedLength;
        if (place == LogPlace.Block && !complete)
        {
            throw new SealedIntegrityException(Truncated);
        }

        // 4. The header verified once (stanza, MAC), then every frame opened at its index (§14.2).
        using var reader = SealedLogReader.Open(log, identities);
        var plaintexts = new List<byte[]>();
        for (int i = 0; i < frames.Count; i++)
        {
            var sealedFrame = log.AsSpan(frames[i].Start, frames[i].Length);
            var plaintext = new byte[sealedFrame.Length];
            int length = reader.OpenFrame((uint)i, sealedFrame, plaintext, out bool end);
            if (end)
            {
                Assert.Equal(frames.Count - 1, i); // the walk saw to that: nothing follows the end frame
                break;
            }

            plaintexts.Add(plaintext[..length]);
        }

        return plaintexts;
    }
}
