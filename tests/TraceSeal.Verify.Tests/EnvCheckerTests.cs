using Microsoft.AspNetCore.Server.Kestrel.Core;
using TraceSeal.Pki;
using TraceSeal.Verify.Env;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>
/// `verify env`, one row per finding of issue 13 and per rule: the variables, the rule, the expected verdict and the
/// expected line. Paths are written as {ca}, {cert}, {key}, {old}, {oldkey}, {missing} and replaced by files of a
/// fresh test PKI.
/// </summary>
public sealed class EnvCheckerTests : IDisposable
{
    private const string Endpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";
    private const string Ca = "OTEL_EXPORTER_OTLP_CERTIFICATE";
    private const string Cert = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
    private const string Key = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
    private const string Insecure = "OTEL_EXPORTER_OTLP_INSECURE";

    private readonly TestPki _pki = new();

    public EnvCheckerTests()
    {
        using var old = DevPki.IssueClient(_pki.Ca, "old", validity: TimeSpan.FromDays(1), notBefore: DateTimeOffset.UtcNow.AddDays(-10));
        old.WriteFiles(Path.Combine(_pki.Dir, "old.crt"), Path.Combine(_pki.Dir, "old.key"));
    }

    public void Dispose() => _pki.Dispose();

    /// <summary>The seeds' full set: https endpoint, pinned CA, client pair, INSECURE=false.</summary>
    private static Dictionary<string, string> Seeds() => new()
    {
        [Endpoint] = "https://collector.internal:4318", [Ca] = "{ca}", [Cert] = "{cert}", [Key] = "{key}", [Insecure] = "false",
    };

    private static Dictionary<string, string> Seeds(Action<Dictionary<string, string>> change)
    {
        var env = Seeds();
        change(env);
        return env;
    }

    public static TheoryData<string, Dictionary<string, string>, string, string, string> Cases() => new()
    {
        // Issue 13: an empty environment exports in plaintext to localhost.
        { "nothing set", [], "TS-ENV-006", "fail",
            "neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: SDKs export to http://localhost:4318 (grpc: localhost:4317) in plaintext" },
        { "nothing set: no CA is not a pass", [], "TS-ENV-003", "warn",
            "OTEL_EXPORTER_OTLP_CERTIFICATE is not set: the collector certificate is trusted if any system CA signed it" },
        { "nothing set: the endpoint scheme is not checked", [], "TS-ENV-001", "not checked", "no endpoint is set (TS-ENV-006: the SDK default is plaintext)" },
        { "nothing set: no files", [], "TS-ENV-005", "not checked", "no CERTIFICATE, CLIENT_CERTIFICATE or CLIENT_KEY variable is set" },
        { "nothing set: INSECURE", [], "TS-ENV-002", "warn",
            "OTEL_EXPORTER_OTLP_INSECURE is not set: the seeds ask for an explicit false, since some SDKs fall back to plaintext when TLS fails unless it is" },
        { "nothing set: no client certificate", [], "TS-ENV-008", "fail",
            "no client certificate is set: TLS without client authentication. The seeds make mTLS the control that \"ensures only authorized applications can send telemetry to your collector\"; a TraceSeal collector refuses this app" },

        // Issue 13: CERTIFICATE and CLIENT_CERTIFICATE missing, and the missing CLIENT_KEY was not reported.
        { "missing CA file", Seeds(e => { e[Ca] = "{missing}/ca.crt"; e[Cert] = "{missing}/client.crt"; e[Key] = "{missing}/client.key"; }), "TS-ENV-005", "fail",
            "OTEL_EXPORTER_OTLP_CERTIFICATE={missing}/ca.crt cannot be read: no such file" },
        { "missing client certificate file", Seeds(e => { e[Ca] = "{missing}/ca.crt"; e[Cert] = "{missing}/client.crt"; e[Key] = "{missing}/client.key"; }), "TS-ENV-005", "fail",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={missing}/client.crt cannot be read: no such file" },
        { "missing client key file", Seeds(e => { e[Ca] = "{missing}/ca.crt"; e[Cert] = "{missing}/client.crt"; e[Key] = "{missing}/client.key"; }), "TS-ENV-005", "fail",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY={missing}/client.key cannot be read: no such file" },
        { "missing files: the pair is not a pass", Seeds(e => { e[Cert] = "{missing}/client.crt"; e[Key] = "{missing}/client.key"; }), "TS-ENV-004", "not checked",
            "the certificate or key file cannot be read (TS-ENV-005)" },
        { "missing files: no client certificate presented", Seeds(e => { e[Cert] = "{missing}/client.crt"; e[Key] = "{missing}/client.key"; }), "TS-ENV-008", "fail",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY are set but do not load as a pair: no client certificate is presented" },
        { "missing CA: not pinned", Seeds(e => e[Ca] = "{missing}/ca.crt"), "TS-ENV-003", "warn",
            "OTEL_EXPORTER_OTLP_CERTIFICATE={missing}/ca.crt is set but cannot be used (TS-ENV-005): nothing is pinned" },
        { "signal-specific variable with a missing file", Seeds(e => e["OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY"] = "{missing}/metrics.key"), "TS-ENV-005", "fail",
            "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY={missing}/metrics.key cannot be read: no such file" },
        { "a key file that is not a key", Seeds(e => e[Key] = "{ca}"), "TS-ENV-005", "fail",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY={ca} holds no unencrypted PEM private key (EC or RSA)" },
        { "expired client certificate", Seeds(e => { e[Cert] = "{old}"; e[Key] = "{oldkey}"; }), "TS-ENV-005", "fail", "{old}: old expired " },

        // Issue 13: an https endpoint with no client certificate passed (no mTLS).
        { "https without client certificate", Seeds(e => { e.Remove(Cert); e.Remove(Key); }), "TS-ENV-008", "fail",
            "no client certificate is set: TLS without client authentication. The seeds make mTLS the control that \"ensures only authorized applications can send telemetry to your collector\"; a TraceSeal collector refuses this app" },
        { "https without client certificate: pair not checked", Seeds(e => { e.Remove(Cert); e.Remove(Key); }), "TS-ENV-004", "not checked",
            "neither OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE nor OTEL_EXPORTER_OTLP_CLIENT_KEY is set" },
        { "key without certificate", Seeds(e => e.Remove(Cert)), "TS-ENV-004", "fail",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY is set but OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not: no client certificate is presented" },
        { "key of another certificate", Seeds(e => e[Key] = "{serverkey}"), "TS-ENV-004", "fail", "OTEL_EXPORTER_OTLP_CLIENT_KEY={serverkey} is not the key of {cert}: " },

        // The other rules, each way.
        { "seeds: endpoint", Seeds(), "TS-ENV-006", "pass", "OTEL_EXPORTER_OTLP_ENDPOINT=https://collector.internal:4318" },
        { "seeds: https", Seeds(), "TS-ENV-001", "pass", "OTEL_EXPORTER_OTLP_ENDPOINT=https://collector.internal:4318" },
        { "seeds: INSECURE=false", Seeds(), "TS-ENV-002", "pass", "OTEL_EXPORTER_OTLP_INSECURE=false" },
        { "seeds: CA pinned", Seeds(), "TS-ENV-003", "pass", "OTEL_EXPORTER_OTLP_CERTIFICATE={ca}" },
        { "seeds: pair", Seeds(), "TS-ENV-004", "pass", "{cert} and {key} are a pair (verify-test-client)" },
        { "seeds: files", Seeds(), "TS-ENV-005", "pass",
            "readable and valid now: OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY" },
        { "seeds: mTLS", Seeds(), "TS-ENV-008", "pass", "the app presents verify-test-client from OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE" },
        { "offline: SAN", Seeds(), "TS-ENV-007", "not checked", "offline check: the endpoint was not contacted" },
        { "offline: protocol", Seeds(), "TS-ENV-009", "not checked", "offline check: the endpoint was not contacted" },
        { "http endpoint", Seeds(e => e[Endpoint] = "http://collector.internal:4318"), "TS-ENV-001", "fail",
            "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector.internal:4318: spans are sent in plaintext" },
        { "endpoint without scheme", Seeds(e => e[Endpoint] = "collector.internal:4317"), "TS-ENV-001", "fail",
            "OTEL_EXPORTER_OTLP_ENDPOINT=collector.internal:4317 has no https:// scheme: whether TLS is used is left to the SDK and OTEL_EXPORTER_OTLP_INSECURE" },
        { "http endpoint: no CA is not a finding of its own", Seeds(e => { e[Endpoint] = "http://c:4318"; e.Remove(Ca); }), "TS-ENV-003", "not checked",
            "the endpoint is plaintext (TS-ENV-001): no server certificate is verified at all" },
        { "INSECURE=true", Seeds(e => e["OTEL_EXPORTER_OTLP_TRACES_INSECURE"] = "true"), "TS-ENV-002", "fail",
            "OTEL_EXPORTER_OTLP_TRACES_INSECURE (overrides OTEL_EXPORTER_OTLP_INSECURE)=true: the gRPC exporter connects without TLS" },
        { "traces variant wins", Seeds(e => e["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://collector.internal:4318/v1/traces"), "TS-ENV-001", "fail",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (overrides OTEL_EXPORTER_OTLP_ENDPOINT)=http://collector.internal:4318/v1/traces: spans are sent in plaintext" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rule_Verdict_Line(string scenario, Dictionary<string, string> env, string rule, string expected, string line)
    {
        var report = EnvChecker.Check(Resolve(env), DateTimeOffset.UtcNow);

        var matching = report.Results.Where(r => r.Rule.Id == rule).ToList();
        Assert.True(matching.Count > 0, $"{scenario}: no {rule} result");
        var result = matching.Find(r => r.Message.StartsWith(Resolve(line), StringComparison.Ordinal)) ?? matching[0];
        Assert.True(expected == TraceSeal.Verify.Output.ReportWriter.OutcomeName(result.Outcome), $"{scenario}: {rule} is {result.Outcome}: {result.Message}");
        Assert.StartsWith(Resolve(line), result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_rule_reports_exactly_once()
    {
        foreach (var env in new[] { [], Seeds(), Seeds(e => e.Remove(Cert)) })
        {
            var report = EnvChecker.Check(Resolve(env), DateTimeOffset.UtcNow);
            foreach (var rule in Catalogue.EnvRules)
            {
                int count = report.Results.Count(r => r.Rule == rule);
                Assert.True(rule.Id == "TS-ENV-005" ? count >= 1 : count == 1, $"{rule.Id} reported {count} times");
            }
        }
    }

    [Fact]
    public void Missing_files_are_reported_for_every_variable()
    {
        var report = EnvChecker.Check(Resolve(Seeds(e => { e[Ca] = "{missing}/ca.crt"; e[Cert] = "{missing}/client.crt"; e[Key] = "{missing}/client.key"; })), DateTimeOffset.UtcNow);
        Assert.Equal([Ca, Cert, Key], report.Results.Where(r => r.Rule.Id == "TS-ENV-005").Select(r => r.Message.Split('=')[0]));
        Assert.DoesNotContain(report.Results, r => r.Outcome == Outcome.Pass && r.Rule.Id is "TS-ENV-003" or "TS-ENV-004" or "TS-ENV-005" or "TS-ENV-008");
    }

    [Fact]
    public void Env_file_reads_the_lines_traceseal_up_prints()
    {
        string file = Path.Combine(_pki.Dir, "app.env");
        File.WriteAllText(file, $"# from traceseal up\n  export OTEL_EXPORTER_OTLP_ENDPOINT=https://localhost:4318\nOTEL_EXPORTER_OTLP_CERTIFICATE=\"{_pki.CaFile}\"\nPATH=/bin\n");
        var variables = EnvChecker.FromFile(file);
        Assert.Equal(2, variables.Count);
        Assert.Equal(_pki.CaFile, variables[Ca]);
    }

    [Fact]
    public async Task Reachable_endpoint_certificate_for_another_name_fails()
    {
        using var other = DevPki.IssueServer(_pki.Ca, "other.example", ["other.example"]);
        await using var server = await TestServer.StartAsync(ServerMode.Tls, other);

        var report = await CheckAsync(new() { [Endpoint] = $"https://localhost:{server.Port}", [Ca] = _pki.CaFile });

        Assert.Equal($"server certificate of localhost:{server.Port}: localhost is not in the certificate's subjectAltName (has: DNS:other.example)",
            Single(report, "TS-ENV-007").Message);
        Assert.Equal(Outcome.Fail, Single(report, "TS-ENV-007").Outcome);
    }

    [Fact]
    public async Task Matching_certificate_passes_and_the_traces_variant_is_the_one_contacted()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);

        var report = await CheckAsync(Seeds(e =>
        {
            e[Endpoint] = $"https://nowhere.invalid:{FreePort.Get()}";
            e["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = $"https://127.0.0.1:{server.Port}/v1/traces";
        }));

        var san = Single(report, "TS-ENV-007");
        Assert.Equal(Outcome.Pass, san.Outcome);
        Assert.Equal($"server certificate of 127.0.0.1:{server.Port}: subjectAltName covers 127.0.0.1", san.Message);
    }

    /// <summary>Issue 13: OTEL_EXPORTER_OTLP_PROTOCOL=grpc pointed at the HTTP port gave 7 passes; the app fails.</summary>
    [Theory]
    [InlineData("grpc", OtlpService.HttpOnly, "fail", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc, but 127.0.0.1:{port} does not serve OTLP/gRPC (ALPN h2 negotiated; ALPN http/1.1 negotiated; gRPC Export answered HTTP 404 without grpc-status; POST /v1/traces answered HTTP 200)")]
    [InlineData("http/protobuf", OtlpService.HttpOnly, "pass", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf; 127.0.0.1:{port} serves OTLP/HTTP")]
    [InlineData("grpc", OtlpService.GrpcOnly, "pass", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc; 127.0.0.1:{port} serves OTLP/gRPC (ALPN h2 negotiated; ALPN http/1.1 refused")]
    [InlineData(null, OtlpService.GrpcOnly, "fail", "OTEL_EXPORTER_OTLP_PROTOCOL is not set (spec default http/protobuf; some SDKs default to grpc), but 127.0.0.1:{port} does not serve OTLP/HTTP")]
    public async Task Protocol_is_probed_and_compared(string? protocol, OtlpService service, string expected, string line)
    {
        var protocols = service == OtlpService.GrpcOnly ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2;
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca, protocols, service);
        var env = Seeds(e => e[Endpoint] = $"https://127.0.0.1:{server.Port}");
        if (protocol is not null)
        {
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol;
        }

        var report = await CheckAsync(env);

        var result = Single(report, "TS-ENV-009");
        Assert.True(expected == TraceSeal.Verify.Output.ReportWriter.OutcomeName(result.Outcome), $"{result.Outcome}: {result.Message}");
        Assert.StartsWith(line.Replace("{port}", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(report.Results, r => r.Message.Contains("disposed", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Unreachable_or_plaintext_endpoint_is_not_checked_with_the_reason()
    {
        int port = FreePort.Get();
        var unreachable = await CheckAsync(Seeds(e => e[Endpoint] = $"https://127.0.0.1:{port}"));
        Assert.Equal(Outcome.NotChecked, Single(unreachable, "TS-ENV-007").Outcome);
        Assert.StartsWith($"endpoint not reachable: cannot connect to 127.0.0.1:{port}", Single(unreachable, "TS-ENV-007").Message, StringComparison.Ordinal);
        Assert.Equal(Outcome.NotChecked, Single(unreachable, "TS-ENV-009").Outcome);

        await using var plaintext = await TestServer.StartAsync(ServerMode.Plaintext);
        var noTls = await CheckAsync(Seeds(e => e[Endpoint] = $"https://127.0.0.1:{plaintext.Port}"));
        Assert.Equal(Outcome.NotChecked, Single(noTls, "TS-ENV-007").Outcome);
        Assert.StartsWith($"no TLS handshake with 127.0.0.1:{plaintext.Port}", Single(noTls, "TS-ENV-007").Message, StringComparison.Ordinal);

        var http = await CheckAsync(new() { [Endpoint] = $"http://127.0.0.1:{plaintext.Port}" });
        Assert.Equal("OTEL_EXPORTER_OTLP_ENDPOINT is not https://: there is no TLS endpoint to contact", Single(http, "TS-ENV-007").Message);
    }

    private Task<Report> CheckAsync(Dictionary<string, string> env) =>
        EnvChecker.CheckAsync(Resolve(env), DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15), default);

    private Dictionary<string, string> Resolve(Dictionary<string, string> env) =>
        env.ToDictionary(kv => kv.Key, kv => Resolve(kv.Value));

    private string Resolve(string text) => text
        .Replace("{ca}", _pki.CaFile, StringComparison.Ordinal)
        .Replace("{cert}", _pki.ClientCertFile, StringComparison.Ordinal)
        .Replace("{key}", _pki.ClientKeyFile, StringComparison.Ordinal)
        .Replace("{serverkey}", _pki.ServerKeyFile, StringComparison.Ordinal)
        .Replace("{oldkey}", Path.Combine(_pki.Dir, "old.key"), StringComparison.Ordinal)
        .Replace("{old}", Path.Combine(_pki.Dir, "old.crt"), StringComparison.Ordinal)
        .Replace("{missing}", Path.Combine(_pki.Dir, "missing"), StringComparison.Ordinal);

    private static CheckResult Single(Report report, string id) => Assert.Single(report.Results, r => r.Rule.Id == id);
}
