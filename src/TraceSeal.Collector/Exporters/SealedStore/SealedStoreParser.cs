using System.Text.RegularExpressions;
using TraceSeal.Collector.Config;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Exporters.SealedStore;

/// <summary>`sealed_store` (TraceSeal). Recipients are checked now, so a misplaced private key never starts a collector.</summary>
internal static partial class SealedStoreParser
{
    private static readonly string[] Keys = ["directory", "recipients", "durability", "collector_id", "s3", "block", "retention", "wal"];
    private static readonly string[] S3Keys = ["bucket", "prefix", "endpoint", "region", "force_path_style", "sse_kms_key_id"];
    private static readonly string[] BlockKeys = ["max_bytes", "max_age"];
    private static readonly string[] RetentionKeys = ["max_age", "max_bytes"];
    private static readonly string[] WalKeys = ["segment_bytes", "max_backlog_bytes"];

    public static SealedStoreExporterSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        var directory = m.String("directory");
        if (directory is null && !m.Has("directory"))
        {
            ctx.Error(m.At, m.Child("directory"), "required: the local directory for the sealed WAL and (without s3) the sealed blocks");
        }

        var recipients = Recipients(ctx, m);
        var durability = m.OneOf("durability", ["fsync", "none"]);
        if (durability == "none")
        {
            ctx.Warn(m.ValueNode("durability")!, m.Child("durability"),
                "acknowledged data is not fsync'd and can be lost on power failure or a kernel crash; use fsync");
        }

        var collectorId = m.Scalar("collector_id");
        if (collectorId is not null && !TraceSeal.Storage.Format.StoreFormat.IsValidTenant(collectorId.Value ?? ""))
        {
            ctx.Error(collectorId, m.Child("collector_id"),
                $"invalid collector id \"{collectorId.Value}\"; use 1-63 letters, digits, '.', '_' or '-' (it becomes an object key prefix, collectors/ID/)");
        }

        var s3 = S3(ctx, m.Map("s3"));
        var defaults = new SealedStoreExporterSettings { Name = id, Directory = "", Recipients = [] };
        var block = m.Map("block");
        block?.CheckKeys(BlockKeys);
        var retention = m.Map("retention");
        retention?.CheckKeys(RetentionKeys);
        var wal = m.Map("wal");
        wal?.CheckKeys(WalKeys);
        var settings = new SealedStoreExporterSettings
        {
            Name = id,
            Directory = directory is null ? "" : ctx.ResolvePath(directory),
            Recipients = recipients ?? [],
            Durability = durability == "none" ? SealedStoreDurability.None : SealedStoreDurability.Fsync,
            S3 = s3,
            CollectorId = collectorId?.Value,
            Block = new StoreBlockSettings
            {
                MaxBytes = block?.Bytes("max_bytes") ?? defaults.Block.MaxBytes,
                MaxAge = block?.Duration("max_age") ?? defaults.Block.MaxAge,
            },
            Retention = new StoreRetentionSettings { MaxAge = retention?.Duration("max_age"), MaxBytes = retention?.Bytes("max_bytes") },
            Wal = new StoreWalSettings
            {
                SegmentBytes = wal?.Bytes("segment_bytes") ?? defaults.Wal.SegmentBytes,
                MaxBacklogBytes = wal?.Bytes("max_backlog_bytes") ?? defaults.Wal.MaxBacklogBytes,
            },
        };
        return directory is null || recipients is null ? null : settings;
    }

    private static List<string>? Recipients(ConfigContext ctx, YamlMap m)
    {
        var items = m.List("recipients");
        if (items is null || items.Count == 0)
        {
            if (items is not null || !m.Has("recipients"))
            {
                ctx.Error(m.KeyNode("recipients") ?? m.At, m.Child("recipients"),
                    "at least one recipient public key file is required (create one with `traceseal keys init`)");
            }

            return null;
        }

        var paths = new List<string>();
        for (int i = 0; i < items.Count; i++)
        {
            var keyPath = $"{m.Child("recipients")}[{i}]";
            var full = YamlMap.CheckFile(ctx, items[i], keyPath, "a recipient public key written by `traceseal keys init` (NAME.recipient.pem)");
            if (full is not null && (!ctx.Options.CheckFiles || CheckRecipientFile(ctx, items[i], keyPath, full)))
            {
                paths.Add(full);
            }
        }

        return paths.Count == items.Count ? paths : null;
    }

    /// <summary>Refuses private keys by their PEM label; the collector must be able to seal but never open.</summary>
    private static bool CheckRecipientFile(ConfigContext ctx, YamlScalarNode at, string keyPath, string full)
    {
        var labels = PemLabel().Matches(File.ReadAllText(full)).Select(x => x.Groups[1].Value).ToList();
        if (labels.Any(l => l.Contains("PRIVATE KEY", StringComparison.Ordinal)))
        {
            ctx.Error(at, keyPath, $"{full} holds a private identity key; a collector must only hold recipient (public) keys");
            return false;
        }

        if (labels.Count == 0)
        {
            ctx.Error(at, keyPath, $"{full} holds no PEM block; expected a recipient public key written by `traceseal keys init`");
            return false;
        }

        return true;
    }

    private static S3StoreSettings? S3(ConfigContext ctx, YamlMap? s3)
    {
        if (s3 is null)
        {
            return null;
        }

        s3.CheckKeys(S3Keys);
        var bucket = s3.String("bucket");
        if (bucket is null)
        {
            ctx.Error(s3.At, s3.Child("bucket"), "required: the bucket sealed blocks are written to");
        }

        var endpoint = s3.Scalar("endpoint");
        if (endpoint is not null && !Uri.TryCreate(endpoint.Value, UriKind.Absolute, out _))
        {
            ctx.Error(endpoint, s3.Child("endpoint"), $"invalid endpoint \"{endpoint.Value}\"; use a URL such as https://minio.internal:9000");
        }

        var settings = new S3StoreSettings
        {
            Bucket = bucket ?? "",
            Prefix = s3.String("prefix") ?? "",
            Endpoint = endpoint?.Value,
            Region = s3.String("region"),
            ForcePathStyle = s3.Bool("force_path_style") ?? false,
            SseKmsKeyId = s3.String("sse_kms_key_id"),
        };
        return bucket is null ? null : settings;
    }

    [GeneratedRegex("-----BEGIN ([A-Z0-9 ]+)-----")]
    private static partial Regex PemLabel();
}
