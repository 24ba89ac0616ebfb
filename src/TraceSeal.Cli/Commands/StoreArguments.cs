using System.CommandLine;
using TraceSeal.Query;
using TraceSeal.Sealing;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `--store DIR|s3://BUCKET/PREFIX`, its `--s3-*` options, `--identity`, `--passphrase-env` and `--tenant`: how every
/// command that reads a store (query, serve) takes them.
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

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Store, S3Endpoint, S3Region, S3PathStyle, Identity, PassphraseEnv, Tenant })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Opens the reader; usage problems are <see cref="ArgumentException"/> naming the option.</summary>
    public StoreReader Open(ParseResult parse)
    {
        var storeArg = parse.GetValue(Store)!;
        S3StoreLocation? s3 = null;
        if (S3StoreLocation.IsS3Uri(storeArg))
        {
            try
            {
                s3 = S3StoreLocation.Parse(storeArg) with
                {
                    Endpoint = parse.GetValue(S3Endpoint),
                    Region = parse.GetValue(S3Region),
                    ForcePathStyle = parse.GetValue(S3PathStyle),
                };
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"--store: {e.Message}", e);
            }
        }
        else if (parse.GetValue(S3Endpoint) is not null || parse.GetValue(S3Region) is not null || parse.GetValue(S3PathStyle))
        {
            throw new ArgumentException("--s3-endpoint, --s3-region and --s3-path-style apply to an s3://BUCKET/PREFIX store only");
        }

        var passphrase = KeysCommand.ReadPassphrase(parse.GetValue(PassphraseEnv));
        var identities = (parse.GetValue(Identity) ?? []).Select(f => KeyFiles.LoadIdentity(f, passphrase)).ToList();
        return s3 is null ? new StoreReader(storeArg, identities) : new StoreReader(s3, identities);
    }
}
