using System.CommandLine;
using TraceSeal.Query;
using TraceSeal.Sealing;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `--store DIR|s3://BUCKET/PREFIX`, its `--s3-*` options, `--identity`, `--passphrase-env` and `--tenant`: how every
/// command that reads a store (query, serve, compact) takes them.
/// </summary>
internal sealed class StoreArguments
{
    public Option<string> Store { get; } = new("--store")
    {
        Description = "The sealed store: a directory (sealed_store::directory of the collector), or s3://BUCKET/PREFIX (sealed_store::s3; " +
                      "credentials from the AWS environment variables / profile chain).",
        Required = true,
    };

    public Option<string?> S3Endpoint { get; } = new("--s3-endpoint") { Description = "With s3://: the endpoint URL of an S3-compatible server (MinIO, Ceph); default AWS." };

    public Option<string?> S3Region { get; } = new("--s3-region") { Description = "With s3://: the region (default: the AWS SDK's, or us-east-1 with --s3-endpoint)." };

    public Option<bool> S3PathStyle { get; } = new("--s3-path-style") { Description = "With s3://: path-style addressing (MinIO and most self-hosted servers need it)." };

    public Option<string[]> Identity { get; } = new("--identity")
    {
        Description = "Identity key file (NAME.identity.pem from `traceseal keys init`); repeatable.",
        Required = true,
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string?> PassphraseEnv { get; } = new("--passphrase-env") { Description = "Environment variable holding the identity passphrase." };

    public Option<string?> Tenant { get; } = new("--tenant") { Description = "Only this tenant (default: every tenant in the store)." };

    public void AddTo(Command command, bool tenant = true)
    {
        command.Options.Add(Store);
        command.Options.Add(S3Endpoint);
        command.Options.Add(S3Region);
        command.Options.Add(S3PathStyle);
        command.Options.Add(Identity);
        command.Options.Add(PassphraseEnv);
        if (tenant)
        {
            command.Options.Add(Tenant);
        }
    }

    /// <summary>The S3 location for an s3:// store, null for a directory.</summary>
    public S3StoreLocation? Location(ParseResult parse) =>
        S3(parse.GetValue(Store)!, parse.GetValue(S3Endpoint), parse.GetValue(S3Region), parse.GetValue(S3PathStyle));

    /// <summary>The identities, loaded (with the passphrase from <see cref="PassphraseEnv"/>).</summary>
    public List<IIdentity> Identities(ParseResult parse)
    {
        var passphrase = KeysCommand.ReadPassphrase(parse.GetValue(PassphraseEnv));
        return (parse.GetValue(Identity) ?? []).Select(f => KeyFiles.LoadIdentity(f, passphrase)).ToList();
    }

    /// <summary>A reader of the store the arguments name.</summary>
    public StoreReader Open(ParseResult parse, StoreReaderOptions? options = null)
    {
        var s3 = Location(parse);
        var identities = Identities(parse);
        options ??= new StoreReaderOptions();
        return s3 is null ? new StoreReader(parse.GetValue(Store)!, identities, options) : new StoreReader(s3, identities, options);
    }

    /// <summary>The S3 location for an s3:// store, null for a directory; the `--s3-*` options with a directory are a usage error.</summary>
    public static S3StoreLocation? S3(string store, string? endpoint, string? region, bool pathStyle)
    {
        if (!S3StoreLocation.IsS3Uri(store))
        {
            return endpoint is not null || region is not null || pathStyle
                ? throw new ArgumentException("--s3-endpoint, --s3-region and --s3-path-style apply to an s3://BUCKET/PREFIX store only")
                : null;
        }

        try
        {
            return S3StoreLocation.Parse(store) with { Endpoint = endpoint, Region = region, ForcePathStyle = pathStyle };
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"--store: {e.Message}", e);
        }
    }
}
