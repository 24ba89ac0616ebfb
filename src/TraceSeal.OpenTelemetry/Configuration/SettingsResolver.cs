using System.Globalization;
using OpenTelemetry.Exporter;

namespace TraceSeal.OpenTelemetry.Configuration;

/// <summary>
/// Reads the OTLP exporter variables of the OpenTelemetry specification (protocol/exporter.md), per-signal
/// variant first (<c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>, then <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), and
/// validates them. Every problem is collected, then all are reported in one
/// <see cref="SecureOtlpConfigurationException"/>: fixing one at a time is slow.
/// </summary>
internal static class SettingsResolver
{
    internal const string Prefix = "OTEL_EXPORTER_OTLP_";

    /// <summary>Spec default (protocol/exporter.md): 10 s per batch.</summary>
    internal static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static ExporterSettings Resolve(OtlpSignalKind signal, SecureOtlpOptions options, Func<string, string?> lookup)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(lookup);
        var problems = new List<string>();
        string signalKey = signal.ToString().ToUpperInvariant();

        Sourced Get(string name, string? optionValue, string optionName)
        {
            if (!string.IsNullOrWhiteSpace(optionValue))
            {
                return new Sourced(optionValue.Trim(), "SecureOtlpOptions." + optionName);
            }

            string specific = Prefix + signalKey + "_" + name;
            string? value = lookup(specific);
            if (!string.IsNullOrWhiteSpace(value))
            {
                return new Sourced(value.Trim(), specific);
            }

            string generic = Prefix + name;
            value = lookup(generic);
            return new Sourced(string.IsNullOrWhiteSpace(value) ? null : value.Trim(), generic);
        }

        // INSECURE: only an explicit "true" permits plaintext (spec: boolean, case-insensitive).
        Sourced insecureText = Get("INSECURE", options.Insecure?.ToString(CultureInfo.InvariantCulture), nameof(SecureOtlpOptions.Insecure));
        bool? insecure = null;
        if (insecureText.IsSet)
        {
            if (bool.TryParse(insecureText.Value, out bool parsed))
            {
                insecure = parsed;
            }
            else
            {
                problems.Add($"{insecureText.Source}={insecureText.Value}: not a boolean; use true or false");
            }
        }

        // PROTOCOL: spec default http/protobuf.
        Sourced protocolText = Get("PROTOCOL", options.Protocol, nameof(SecureOtlpOptions.Protocol));
        var protocol = OtlpExportProtocol.HttpProtobuf;
        switch (protocolText.Value?.ToLowerInvariant())
        {
            case null or "http/protobuf":
                break;
            case "grpc":
                protocol = OtlpExportProtocol.Grpc;
                break;
            case "http/json":
                problems.Add($"{protocolText.Source}=http/json: the OpenTelemetry .NET exporter does not support OTLP/JSON; use grpc or http/protobuf");
                break;
            default:
                problems.Add($"{protocolText.Source}={protocolText.Value}: unknown protocol; use grpc or http/protobuf");
                break;
        }

        // ENDPOINT: the per-signal URL is used as-is; the generic one gets v1/<signal> appended for OTLP/HTTP.
        Sourced endpointText = Get("ENDPOINT", options.Endpoint?.OriginalString, nameof(SecureOtlpOptions.Endpoint));
        Uri? endpoint = null;
        bool plaintext = false;
        if (!endpointText.IsSet)
        {
            problems.Add($"{Prefix}ENDPOINT (or {Prefix}{signalKey}_ENDPOINT) is not set: the default endpoint http://localhost:{(protocol == OtlpExportProtocol.Grpc ? 4317 : 4318)} is plaintext; set it to the collector's https:// URL");
        }
        else
        {
            string text = endpointText.Value!;
            if (!text.Contains("://", StringComparison.Ordinal))
            {
                // Spec: a scheme-less endpoint is secure unless INSECURE=true says otherwise.
                text = (insecure == true ? "http://" : "https://") + text;
            }

            if (!Uri.TryCreate(text, UriKind.Absolute, out endpoint) || string.IsNullOrEmpty(endpoint.Host))
            {
                problems.Add($"{endpointText.Source}={endpointText.Value}: not a URL; expected https://host:port");
                endpoint = null;
            }
            else if (endpoint.Scheme == Uri.UriSchemeHttp)
            {
                if (insecure == true)
                {
                    plaintext = true;
                }
                else
                {
                    problems.Add($"{endpointText.Source}={endpointText.Value}: plaintext http:// endpoint; telemetry would leave this process unencrypted. Use https:// (with {Prefix}CERTIFICATE for the collector's CA), or set {Prefix}INSECURE=true to opt out of TLS explicitly");
                }
            }
            else if (endpoint.Scheme == Uri.UriSchemeHttps)
            {
                if (insecure == true)
                {
                    problems.Add($"{insecureText.Source}=true contradicts {endpointText.Source}={endpointText.Value}: an https:// endpoint always uses TLS; remove {insecureText.Source} (or set it to false)");
                }
            }
            else
            {
                problems.Add($"{endpointText.Source}={endpointText.Value}: unsupported scheme '{endpoint.Scheme}'; use https://");
                endpoint = null;
            }

            if (endpoint is not null && protocol == OtlpExportProtocol.HttpProtobuf && !endpointText.Source.EndsWith(signalKey + "_ENDPOINT", StringComparison.Ordinal) && !endpointText.Source.StartsWith("SecureOtlpOptions", StringComparison.Ordinal))
            {
                endpoint = AppendSignalPath(endpoint, signal);
            }
        }

        Sourced ca = Get("CERTIFICATE", options.CertificateFile, nameof(SecureOtlpOptions.CertificateFile));
        Sourced clientCert = Get("CLIENT_CERTIFICATE", options.ClientCertificateFile, nameof(SecureOtlpOptions.ClientCertificateFile));
        Sourced clientKey = Get("CLIENT_KEY", options.ClientKeyFile, nameof(SecureOtlpOptions.ClientKeyFile));
        if (clientCert.IsSet != clientKey.IsSet)
        {
            problems.Add(clientCert.IsSet
                ? $"{clientCert.Source}={clientCert.Value} is set but {clientKey.Source} is not: a client certificate needs its private key"
                : $"{clientKey.Source}={clientKey.Value} is set but {clientCert.Source} is not: a client key needs its certificate");
        }

        Sourced headers = Get("HEADERS", options.Headers, nameof(SecureOtlpOptions.Headers));
        if (headers.IsSet)
        {
            ValidateHeaders(headers, problems);
        }

        Sourced compressionText = Get("COMPRESSION", options.Compression, nameof(SecureOtlpOptions.Compression));
        var compression = OtlpExportCompression.None;
        switch (compressionText.Value?.ToLowerInvariant())
        {
            case null or "none":
                break;
            case "gzip":
                compression = OtlpExportCompression.GZip;
                break;
            default:
                problems.Add($"{compressionText.Source}={compressionText.Value}: unknown compression; use gzip or none");
                break;
        }

        Sourced timeoutText = Get("TIMEOUT", options.Timeout is { } t ? ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : null, nameof(SecureOtlpOptions.Timeout));
        TimeSpan timeout = DefaultTimeout;
        if (timeoutText.IsSet)
        {
            if (long.TryParse(timeoutText.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) && ms > 0 && ms <= int.MaxValue)
            {
                timeout = TimeSpan.FromMilliseconds(ms);
            }
            else
            {
                problems.Add($"{timeoutText.Source}={timeoutText.Value}: not a positive number of milliseconds");
            }
        }

        ValidateOptions(options, problems);
        BufferSettings? buffer = ResolveBuffer(options.DiskBuffer, lookup, problems);

        var settings = new ExporterSettings
        {
            Signal = signal,
            Endpoint = endpoint ?? new Uri("https://invalid"),
            EndpointSource = endpointText.Source,
            Protocol = protocol,
            Plaintext = plaintext,
            InsecureSource = insecureText.Source,
            CaFile = ca,
            ClientCertificateFile = clientCert,
            ClientKeyFile = clientKey,
            Headers = headers.Value,
            Compression = compression,
            Timeout = timeout,
            Buffer = buffer,
        };

        // The files are only read once the settings themselves are sound; a plaintext endpoint never needs them.
        if (problems.Count == 0 && !plaintext)
        {
            problems.AddRange(CertificateMaterial.Check(settings));
        }

        if (problems.Count > 0)
        {
            throw new SecureOtlpConfigurationException(problems);
        }

        return settings;
    }

    /// <summary>
    /// The sealed disk buffer: off unless a directory is given. The key file is required with it and must lie
    /// outside it (compared on real paths, symbolic links resolved), so that reading the buffer never yields its key.
    /// </summary>
    internal static BufferSettings? ResolveBuffer(SecureDiskBufferOptions? options, Func<string, string?> lookup, List<string> problems)
    {
        Sourced Get(string variable, string? optionValue, string optionName)
        {
            if (!string.IsNullOrWhiteSpace(optionValue))
            {
                return new Sourced(optionValue.Trim(), "SecureOtlpOptions.DiskBuffer." + optionName);
            }

            string? value = lookup(variable);
            return new Sourced(string.IsNullOrWhiteSpace(value) ? null : value.Trim(), variable);
        }

        Sourced directory = Get(BufferDirectoryVariable, options?.Directory, nameof(SecureDiskBufferOptions.Directory));
        Sourced keyFile = Get(BufferKeyFileVariable, options?.KeyFile, nameof(SecureDiskBufferOptions.KeyFile));
        Sourced maxText = Get(BufferMaxBytesVariable, options?.MaxBytes?.ToString(CultureInfo.InvariantCulture), nameof(SecureDiskBufferOptions.MaxBytes));
        if (!directory.IsSet)
        {
            if (keyFile.IsSet || maxText.IsSet)
            {
                problems.Add($"{(keyFile.IsSet ? keyFile.Source : maxText.Source)} is set but {directory.Source} is not: the disk buffer needs a directory (or remove the buffer settings)");
            }

            return null;
        }

        long maxBytes = SecureDiskBufferOptions.DefaultMaxBytes;
        if (maxText.IsSet && (!long.TryParse(maxText.Value, NumberStyles.None, CultureInfo.InvariantCulture, out maxBytes) || maxBytes < 1))
        {
            problems.Add($"{maxText.Source}={maxText.Value}: not a positive number of bytes");
            maxBytes = SecureDiskBufferOptions.DefaultMaxBytes;
        }

        if (!keyFile.IsSet)
        {
            problems.Add($"{directory.Source}={directory.Value} is set but {keyFile.Source} is not: the disk buffer is sealed to a key file kept outside the buffer directory; set {keyFile.Source} to its path (it is created on first use)");
            return null;
        }

        string directoryPath = RealPath(directory.Value!);
        string keyPath = RealPath(keyFile.Value!);
        string directoryPrefix = Path.EndsInDirectorySeparator(directoryPath) ? directoryPath : directoryPath + Path.DirectorySeparatorChar;
        if (string.Equals(keyPath, directoryPath, StringComparison.Ordinal) || keyPath.StartsWith(directoryPrefix, StringComparison.Ordinal))
        {
            problems.Add($"{keyFile.Source}={keyFile.Value} is inside the disk buffer directory {directory.Source}={directory.Value}: whoever can read the buffer would also hold the key that opens it; keep the key file outside that directory");
            return null;
        }

        if (Directory.Exists(keyPath))
        {
            problems.Add($"{keyFile.Source}={keyFile.Value} is a directory; give the path of the identity (private key) file");
            return null;
        }

        if (File.Exists(directoryPath))
        {
            problems.Add($"{directory.Source}={directory.Value} is a file; give a directory");
            return null;
        }

        return new BufferSettings(directoryPath, directory.Source, keyPath, keyFile.Source, maxBytes);
    }

    internal const string BufferDirectoryVariable = "TRACESEAL_OTLP_BUFFER_DIRECTORY";
    internal const string BufferKeyFileVariable = "TRACESEAL_OTLP_BUFFER_KEY_FILE";
    internal const string BufferMaxBytesVariable = "TRACESEAL_OTLP_BUFFER_MAX_BYTES";

    /// <summary>The full path with every existing symbolic link on the way resolved (a path that does not exist yet keeps its tail).</summary>
    internal static string RealPath(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string root = Path.GetPathRoot(full) ?? string.Empty;
        string current = root;
        foreach (string part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            for (int hops = 0; hops < 40; hops++)
            {
                FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
                if (!info.Exists || info.LinkTarget is null)
                {
                    break;
                }

                current = Path.TrimEndingDirectorySeparator(Path.GetFullPath(info.LinkTarget, Path.GetDirectoryName(current) ?? root));
            }
        }

        return current;
    }

    internal static Uri AppendSignalPath(Uri endpoint, OtlpSignalKind signal)
    {
        string path = "v1/" + signal.ToString().ToLowerInvariant();
        string text = endpoint.AbsoluteUri;
        return new Uri(text.EndsWith('/') ? text + path : text + "/" + path);
    }

    private static void ValidateHeaders(Sourced headers, List<string> problems)
    {
        foreach (string pair in headers.Value!.Split(','))
        {
            if (pair.Trim().Length == 0)
            {
                continue;
            }

            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = eq > 0 ? Uri.UnescapeDataString(pair[..eq]).Trim() : string.Empty;
            if (eq <= 0 || key.Length == 0 || key.Any(c => c <= ' ' || c >= 0x7f || c == ':'))
            {
                // The value may be a secret: name the key position, never echo the pair.
                problems.Add($"{headers.Source}: '{(eq > 0 ? key : "(no '=')")}' is not a valid header; expected key=value pairs separated by commas (values URL-encoded)");
            }
        }
    }

    private static void ValidateOptions(SecureOtlpOptions options, List<string> problems)
    {
        if (options.MaxQueueSize < 1)
        {
            problems.Add($"SecureOtlpOptions.MaxQueueSize={options.MaxQueueSize}: must be at least 1");
        }

        if (options.MaxExportBatchSize < 1 || options.MaxExportBatchSize > options.MaxQueueSize)
        {
            problems.Add($"SecureOtlpOptions.MaxExportBatchSize={options.MaxExportBatchSize}: must be between 1 and MaxQueueSize ({options.MaxQueueSize})");
        }

        if (options.CertificateReloadInterval <= TimeSpan.Zero)
        {
            problems.Add("SecureOtlpOptions.CertificateReloadInterval must be positive");
        }

        if (options.InitialRetryBackoff <= TimeSpan.Zero || options.MaxRetryBackoff < options.InitialRetryBackoff)
        {
            problems.Add("SecureOtlpOptions.InitialRetryBackoff must be positive and not above MaxRetryBackoff");
        }
    }
}
