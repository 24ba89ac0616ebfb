using TraceSeal.Storage;
using System.Globalization;
using System.Text;
using TraceSeal.Collector.Storage;
using TraceSeal.Sealing.Files;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// The sender's position: the next record to forward is record <see cref="Record"/> of frame
/// <see cref="Frame"/> of segment <see cref="Seq"/>; everything before it was accepted (or dropped) upstream.
/// Stored as one plain ASCII line `SEQ FRAME RECORD` (docs/format.md §13): three integers say nothing about
/// the data. Written atomically (temp 0600, fsync, rename, fsync directory) each time it advances: with several
/// requests in flight (<see cref="QueueSender"/>'s window), only over the contiguous prefix of completed ones, so it
/// never passes a record upstream has not acknowledged (past all of a request's records when several were merged).
/// </summary>
internal readonly record struct QueueCursor(ulong Seq, uint Frame, int Record)
{
    public const string FileName = "cursor";

    /// <param name="fileName">The queue's `cursor`, or a WAL consumer's cursor file (docs/format.md §14.11).</param>
    public static QueueCursor Read(string directory, string fileName = FileName)
    {
        string path = System.IO.Path.Combine(directory, fileName);
        if (!File.Exists(path))
        {
            return default;
        }

        string[] parts = File.ReadAllText(path, Encoding.ASCII).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 3
            && ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong seq)
            && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint frame)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int record))
        {
            return new QueueCursor(seq, frame, record);
        }

        throw new InvalidOperationException($"{path}: not a queue cursor (expected \"SEQ FRAME RECORD\"); delete it to resend the whole queue");
    }

    public void Write(string directory, string fileName = FileName) =>
        AtomicFile.Replace(directory, fileName, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Seq} {Frame} {Record}\n")));
}
