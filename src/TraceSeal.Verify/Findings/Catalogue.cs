namespace TraceSeal.Verify.Findings;

/// <summary>
/// Every finding `traceseal verify` can report, in one place. Ids are stable and append-only (CI
/// suppressions and SARIF baselines refer to them): never renumber, retire an id instead of reusing it.
/// TS-CFG = collector YAML, TS-EP = live endpoint, TS-ENV = app environment, TS-DATA = stored data.
/// </summary>
internal static class Catalogue
{
    // ---- verify config: in transit -------------------------------------------------------------
    public static readonly Rule ConfigUnreadable = new("TS-CFG-000", Layer.InTransit, Outcome.Fail,
        "configuration parses as YAML",
        "fix the YAML syntax at the reported position; nothing else could be checked");

    public static readonly Rule ReceiverWithoutTls = new("TS-CFG-001", Layer.InTransit, Outcome.Fail,
        "every receiver endpoint has a tls block",
        "add tls: {cert_file, key_file, client_ca_file}; without it the receiver accepts plaintext whatever the SDKs are told");

    public static readonly Rule TlsWithoutClientCa = new("TS-CFG-002", Layer.InTransit, Outcome.Warn,
        "receiver tls requires client certificates (client_ca_file)",
        "add client_ca_file: the CA that signed your apps' client certificates; without it any client may send (TLS, not mTLS)");

    public static readonly Rule CaFileOnServer = new("TS-CFG-003", Layer.InTransit, Outcome.Fail,
        "mTLS is configured with client_ca_file, not ca_file",
        "rename ca_file to client_ca_file: on a server ca_file does not turn on client certificate verification upstream");

    public static readonly Rule SystemPoolWithClientCa = new("TS-CFG-004", Layer.InTransit, Outcome.Fail,
        "client certificates are checked against the private CA only",
        "remove include_system_ca_certs_pool: with it, any public CA could issue a client certificate the receiver accepts");

    public static readonly Rule TlsVersionBelow12 = new("TS-CFG-005", Layer.InTransit, Outcome.Fail,
        "TLS versions are 1.2 or later",
        "set min_version: \"1.2\" (or \"1.3\"); TLS 1.0 and 1.1 are deprecated (RFC 8996)");

    public static readonly Rule ExporterInsecure = new("TS-CFG-006", Layer.InTransit, Outcome.Fail,
        "exporters verify TLS (no insecure / insecure_skip_verify)",
        "remove insecure / insecure_skip_verify and set tls.ca_file to the CA of the next hop");

    public static readonly Rule ExporterHttpEndpoint = new("TS-CFG-007", Layer.InTransit, Outcome.Fail,
        "exporter endpoints use https://",
        "use an https:// endpoint and tls.ca_file; http:// sends spans in plaintext");

    public static readonly Rule NoReloadInterval = new("TS-CFG-008", Layer.InTransit, Outcome.Warn,
        "server certificates are reloaded after rotation",
        "upstream: set reload_interval (e.g. 1h) so rotated certificates are picked up without a restart (TraceSeal watches the files and reloads without it); expired certificates are what pushes SDKs to plaintext fallbacks");

    public static readonly Rule WildcardWithoutTls = new("TS-CFG-009", Layer.InTransit, Outcome.Fail,
        "no plaintext endpoint listens on all interfaces",
        "add a tls block, or bind to 127.0.0.1 if only local agents send");

    public static readonly Rule AllowPlaintext = new("TS-CFG-017", Layer.InTransit, Outcome.Warn,
        "TraceSeal allow_plaintext is not set",
        "remove allow_plaintext: true and add a tls block; the opt-out is for local development only");

    // ---- verify config: in the collector ------------------------------------------------------
    public static readonly Rule NoMemoryLimiter = new("TS-CFG-010", Layer.InCollector, Outcome.Warn,
        "every pipeline has a memory_limiter",
        "add memory_limiter as the first processor so overload is refused (retryable) instead of buffered without bound");

    public static readonly Rule MemoryLimiterNotFirst = new("TS-CFG-011", Layer.InCollector, Outcome.Warn,
        "memory_limiter is the first processor",
        "move memory_limiter to the front of processors: [...]; processors before it buffer data it cannot shed");

    public static readonly Rule BatchWithoutMax = new("TS-CFG-012", Layer.InCollector, Outcome.Warn,
        "batch processors bound send_batch_max_size",
        "set send_batch_max_size (e.g. 10000) so back-pressure reaches callers before the queue overflows");

    public static readonly Rule DebugExporter = new("TS-CFG-013", Layer.InCollector, Outcome.Warn,
        "no debug/logging exporter copies span contents into logs",
        "remove the exporter or set verbosity: basic (counts only); with normal or detailed, span names and attributes end up in plaintext logs");

    // ---- verify config: at rest ----------------------------------------------------------------
    public static readonly Rule FileExporter = new("TS-CFG-014", Layer.AtRest, Outcome.Fail,
        "no file exporter writes spans in plaintext",
        "use TraceSeal's sealed_store instead of the file exporter; it writes spans to disk in plaintext");

    public static readonly Rule PersistentQueue = new("TS-CFG-015", Layer.AtRest, Outcome.Fail,
        "no persistent sending queue spills plaintext to disk",
        "upstream persistent queues are unencrypted: put the storage directory on an encrypted volume, or use TraceSeal, whose WAL is sealed");

    public static readonly Rule FileStorage = new("TS-CFG-016", Layer.AtRest, Outcome.Fail,
        "no file_storage directory holds plaintext",
        "file_storage writes queue contents unencrypted: mount the directory on an encrypted volume (dm-crypt/LUKS, encrypted cloud disk) or use TraceSeal");

    public static readonly Rule ObjectStorageWithoutSse = new("TS-CFG-018", Layer.AtRest, Outcome.Fail,
        "object storage exporters use server-side encryption",
        "enable SSE-KMS on the exporter or bucket (and deny kms:Decrypt to the collector), or use sealed_store with an s3 target");

    public static readonly Rule WeakDurability = new("TS-CFG-019", Layer.AtRest, Outcome.Warn,
        "sealed_store acknowledges only durable data",
        "remove durability: none (default fsync); with none, acknowledged spans can be lost in a crash");

    public static readonly Rule ConfigLoads = new("TS-CFG-020", Layer.InCollector, Outcome.Fail,
        "`traceseal collector` loads this config",
        "fix each error the collector's loader reports (it refuses to start otherwise); pass --collector upstream to lint a config meant for the upstream OpenTelemetry Collector");

    public static readonly Rule DebugEndpointExposed = new("TS-CFG-021", Layer.InCollector, Outcome.Fail,
        "pprof, zpages and health_check listen on loopback only",
        "bind the extension to 127.0.0.1 (or remove it): pprof serves heap dumps and zpages serves sampled spans, both in plaintext to anyone who can reach the port");

    public static readonly IReadOnlyList<Rule> ConfigRules =
    [
        ConfigUnreadable, ConfigLoads, ReceiverWithoutTls, TlsWithoutClientCa, CaFileOnServer, SystemPoolWithClientCa, TlsVersionBelow12,
        ExporterInsecure, ExporterHttpEndpoint, NoReloadInterval, WildcardWithoutTls, AllowPlaintext,
        NoMemoryLimiter, MemoryLimiterNotFirst, BatchWithoutMax, DebugExporter, DebugEndpointExposed,
        FileExporter, PersistentQueue, FileStorage, ObjectStorageWithoutSse, WeakDurability,
    ];

    // ---- verify endpoint (all in transit) ------------------------------------------------------
    public static readonly Rule PlaintextHttp1 = new("TS-EP-001", Layer.InTransit, Outcome.Fail,
        "plaintext HTTP/1.1 is refused",
        "put a tls block on this receiver (or listener); a plaintext request got an HTTP response");

    public static readonly Rule PlaintextH2c = new("TS-EP-002", Layer.InTransit, Outcome.Fail,
        "plaintext HTTP/2 (h2c prior knowledge) is refused",
        "put a tls block on this receiver; gRPC without TLS is accepted here");

    public static readonly Rule TlsHandshake = new("TS-EP-003", Layer.InTransit, Outcome.Fail,
        "TLS 1.2+ handshake",
        "check that the port serves TLS and that client and server share a protocol version (1.2 or 1.3)");

    public static readonly Rule LegacyTls = new("TS-EP-004", Layer.InTransit, Outcome.Fail,
        "TLS 1.0 and 1.1 are refused",
        "set min_version: \"1.2\" on the server (nginx: ssl_protocols TLSv1.2 TLSv1.3)");

    public static readonly Rule Chain = new("TS-EP-005", Layer.InTransit, Outcome.Fail,
        "server certificate chains to the given CA",
        "serve a certificate signed by the CA the apps trust (OTEL_EXPORTER_OTLP_CERTIFICATE), with intermediates in the chain");

    public static readonly Rule HostName = new("TS-EP-006", Layer.InTransit, Outcome.Fail,
        "server certificate names the host (SAN)",
        "reissue the server certificate with the host name clients use in its subjectAltName (traceseal certs init --hosts ...)");

    public static readonly Rule Expiry = new("TS-EP-007", Layer.InTransit, Outcome.Fail,
        "server certificate is valid for at least 30 more days",
        "renew the server certificate and make sure the collector reloads it (reload_interval)");

    public static readonly Rule KeyStrength = new("TS-EP-008", Layer.InTransit, Outcome.Fail,
        "server key is strong (RSA >= 2048, EC >= 256)",
        "reissue the certificate with ECDSA P-256 or RSA 2048 or larger");

    public static readonly Rule MtlsNoCert = new("TS-EP-009", Layer.InTransit, Outcome.Fail,
        "a client without a certificate is refused (mTLS enforced)",
        "set client_ca_file on the receiver (nginx: ssl_verify_client on); TLS alone lets any client send");

    public static readonly Rule MtlsForeignCa = new("TS-EP-010", Layer.InTransit, Outcome.Fail,
        "a client certificate from a foreign CA is refused",
        "client_ca_file must hold only the CA that signs your apps' certificates; remove public or unrelated CAs");

    public static readonly Rule OtlpExport = new("TS-EP-011", Layer.InTransit, Outcome.Fail,
        "an empty OTLP export with the client certificate succeeds",
        "check that client_ca_file holds the CA that signed this client certificate and that the identity is allowed");

    public static readonly Rule EndpointProtocol = new("TS-EP-012", Layer.InTransit, Outcome.Fail,
        "the endpoint serves the expected OTLP transport (probed: ALPN and a request)",
        "point gRPC exporters (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) at the gRPC receiver and http/protobuf or http/json exporters at the HTTP receiver; the port number decides nothing");

    public static readonly IReadOnlyList<Rule> EndpointRules =
    [
        PlaintextHttp1, PlaintextH2c, TlsHandshake, EndpointProtocol, LegacyTls, Chain, HostName, Expiry, KeyStrength, MtlsNoCert, MtlsForeignCa, OtlpExport,
    ];

    // ---- verify env (in transit, the app side) -------------------------------------------------
    public static readonly Rule EnvHttpEndpoint = new("TS-ENV-001", Layer.InTransit, Outcome.Fail,
        "OTLP endpoint uses https://",
        "set OTEL_EXPORTER_OTLP_ENDPOINT=https://collector:4318 (never http://)");

    public static readonly Rule EnvInsecure = new("TS-ENV-002", Layer.InTransit, Outcome.Fail,
        "OTEL_EXPORTER_OTLP_INSECURE is explicitly false",
        "set OTEL_EXPORTER_OTLP_INSECURE=false explicitly, so the exporter fails instead of falling back to plaintext");

    public static readonly Rule EnvNoCertificate = new("TS-ENV-003", Layer.InTransit, Outcome.Warn,
        "the collector CA is pinned (OTEL_EXPORTER_OTLP_CERTIFICATE)",
        "set OTEL_EXPORTER_OTLP_CERTIFICATE to the CA that signed the collector's certificate; otherwise the system trust store decides");

    public static readonly Rule EnvClientPair = new("TS-ENV-004", Layer.InTransit, Outcome.Fail,
        "client certificate and key are set together and match",
        "set both OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY, from the same issued pair");

    public static readonly Rule EnvFiles = new("TS-ENV-005", Layer.InTransit, Outcome.Fail,
        "certificate and key files are readable and currently valid",
        "fix the path or permissions, or renew the certificate (traceseal certs client ...)");

    public static readonly Rule EnvNoEndpoint = new("TS-ENV-006", Layer.InTransit, Outcome.Fail,
        "an OTLP endpoint is configured",
        "set OTEL_EXPORTER_OTLP_ENDPOINT=https://collector:4318 (and the CERTIFICATE, CLIENT_CERTIFICATE, CLIENT_KEY files); with nothing set the SDK exports to http://localhost:4318 in plaintext");

    public static readonly Rule EnvEndpointSan = new("TS-ENV-007", Layer.InTransit, Outcome.Fail,
        "the endpoint host is in the server certificate's subjectAltName",
        "reissue the collector's certificate with this host name in its subjectAltName, or point the endpoint at a name the certificate has; SDKs refuse the handshake otherwise, and the usual \"fix\" is INSECURE=true");

    public static readonly Rule EnvNoClientCertificate = new("TS-ENV-008", Layer.InTransit, Outcome.Fail,
        "the app presents a client certificate (mutual TLS)",
        "set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY (traceseal certs client NAME ...); the seeds make mTLS the control that lets only authorized applications send, and a TraceSeal collector refuses a client without a certificate");

    public static readonly Rule EnvProtocol = new("TS-ENV-009", Layer.InTransit, Outcome.Fail,
        "OTEL_EXPORTER_OTLP_PROTOCOL matches what the endpoint serves (probed)",
        "set OTEL_EXPORTER_OTLP_PROTOCOL=grpc for a gRPC receiver, http/protobuf for an OTLP/HTTP receiver, or point the endpoint at the receiver that speaks the protocol the SDK uses");

    public static readonly IReadOnlyList<Rule> EnvRules =
        [EnvNoEndpoint, EnvHttpEndpoint, EnvInsecure, EnvNoCertificate, EnvClientPair, EnvNoClientCertificate, EnvFiles, EnvEndpointSan, EnvProtocol];

    // ---- verify data (at rest) ----------------------------------------------------------------
    public static readonly Rule DataNotSealed = new("TS-DATA-001", Layer.AtRest, Outcome.Fail,
        "every stored file is a sealed object of a known version",
        "this file was not written by a sealed store; find what wrote it and remove it, or move the data behind sealed_store");

    public static readonly Rule DataPlaintextOtlp = new("TS-DATA-002", Layer.AtRest, Outcome.Fail,
        "no file holds plaintext OTLP",
        "plaintext spans are on disk: delete the file securely and find the writer (file exporter, persistent queue, spill directory)");

    public static readonly Rule DataPermissions = new("TS-DATA-003", Layer.AtRest, Outcome.Warn,
        "permissions are no wider than 0700 (directories) / 0600 (files)",
        "chmod 0700 the directories and 0600 the files; sealed data is safe to read, but its size and timing are not");

    public static readonly Rule DataNoRecipient = new("TS-DATA-004", Layer.AtRest, Outcome.Fail,
        "every sealed object has at least one recipient",
        "an object sealed to nobody cannot be opened by anyone: check the writer's recipients list (sealed_store::recipients) and restore from a good copy");

    public static readonly Rule DataStoreReadable = new("TS-DATA-005", Layer.AtRest, Outcome.Fail,
        "the object store can be listed and every object read",
        "check the bucket and prefix, --s3-endpoint / --s3-region / --s3-path-style, and the credentials the AWS SDK's default chain finds (AWS_ACCESS_KEY_ID, AWS_PROFILE, roles); the verifier needs s3:ListBucket and s3:GetObject");

    public static readonly Rule DataServerSideEncryption = new("TS-DATA-006", Layer.AtRest, Outcome.Warn,
        "objects carry server-side encryption (defence in depth)",
        "turn on default bucket encryption (SSE-S3 or SSE-KMS) or set sealed_store::s3::sse_kms_key_id; the sealing is what protects the data, SSE adds a second layer against a leaked bucket or disk");

    /// <summary>`verify data DIR`.</summary>
    public static readonly IReadOnlyList<Rule> DataRules = [DataNotSealed, DataPlaintextOtlp, DataPermissions, DataNoRecipient];

    /// <summary>`verify data s3://...`: no file modes; listing/reading and server-side encryption instead.</summary>
    public static readonly IReadOnlyList<Rule> S3DataRules = [DataStoreReadable, DataNotSealed, DataPlaintextOtlp, DataNoRecipient, DataServerSideEncryption];

    public static IEnumerable<Rule> All => ConfigRules.Concat(EndpointRules).Concat(EnvRules).Concat(DataRules).Concat(S3DataRules).Distinct();
}
