using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Pki;
using TraceSeal.Serve.Tests.TestSupport;

namespace TraceSeal.Serve.Tests;

/// <summary>Every request is authenticated: the token (Bearer or the /login cookie) or a client certificate; the token and key never leak.</summary>
public sealed class AuthTests(ServeFixture f) : IClassFixture<ServeFixture>
{
    public static TheoryData<string> Paths() =>
    [
        "/", "/search?service=cart", "/trace/" + ServeData.FailingTraceHex, "/logs", "/assets/app.js", "/api/echo", "/ready",
        "/api/traces/" + ServeData.FailingTraceHex, "/api/v2/traces/" + ServeData.FailingTraceHex, "/api/search?q=%7B%7D",
        "/api/search/tags", "/api/v2/search/tags", "/api/search/tag/service.name/values", "/api/v2/search/tag/service.name/values",
        "/jaeger/api/services", "/jaeger/api/services/cart/operations", "/jaeger/api/traces?service=cart",
        "/jaeger/api/traces/" + ServeData.FailingTraceHex, "/api/traceseal/logs", "/no/such/path",
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task a_request_without_the_token_gets_401_with_a_json_body(string path)
    {
        var (status, body, response) = await f.GetAsync(path, f.Anonymous);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("unauthenticated", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer TOKENx")]
    [InlineData("TOKEN")]
    public async Task a_wrong_or_malformed_authorization_header_gets_401(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/echo");
        request.Headers.TryAddWithoutValidation("Authorization", header.Replace("TOKEN", f.Token, StringComparison.Ordinal));
        using var response = await f.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task the_login_link_sets_an_httponly_samesite_strict_cookie_that_then_authenticates()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(f.Host.BaseUrl) };
        using var login = await client.GetAsync($"/login?token={Uri.EscapeDataString(f.Token)}&next=%2Ftrace%2F{ServeData.FailingTraceHex}");
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/trace/" + ServeData.FailingTraceHex, login.Headers.Location!.OriginalString);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith(ServeAuth.CookieName + "=", cookie);
        Assert.DoesNotContain(f.Token, cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);

        using var page = new HttpRequestMessage(HttpMethod.Get, "/trace/" + ServeData.FailingTraceHex);
        page.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var response = await client.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("/assets/app.js", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("//evil.example/")]
    [InlineData("https://evil.example/")]
    [InlineData("/\\evil.example")]
    [InlineData("javascript:alert(1)")]
    public async Task login_never_redirects_to_another_site(string next)
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(f.Host.BaseUrl) };
        using var login = await client.GetAsync($"/login?token={Uri.EscapeDataString(f.Token)}&next={Uri.EscapeDataString(next)}");
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/", login.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task the_token_itself_in_the_cookie_does_not_authenticate()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/echo");
        request.Headers.Add("Cookie", $"{ServeAuth.CookieName}={f.Token}");
        using var response = await f.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task a_login_link_with_another_token_sets_no_cookie()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(f.Host.BaseUrl) };
        using var login = await client.GetAsync("/login?token=not-the-token");
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.False(login.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task only_get_and_head_are_answered()
    {
        using var response = await f.Client.PostAsync("/api/search", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task responses_carry_no_store_and_a_strict_content_security_policy()
    {
        var (_, _, response) = await f.GetAsync("/");
        Assert.True(response.Headers.CacheControl!.NoStore);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task the_token_and_the_identity_key_are_in_no_response_and_no_log_line()
    {
        // Exercise every endpoint, authenticated and not, the login link included (its URL carries the token).
        foreach (var path in Paths())
        {
            await f.GetAsync(path);
            await f.GetAsync(path, f.Anonymous);
        }

        await f.GetAsync($"/login?token={Uri.EscapeDataString(f.Token)}", f.Anonymous);
        await f.GetAsync("/login?token=wrong", f.Anonymous);
        var key = File.ReadAllText(f.Store.Identity);
        var keyBody = string.Concat(key.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal))).Trim();
        Assert.True(keyBody.Length > 40);
        Assert.NotEmpty(f.LogLines);
        Assert.Contains(f.LogLines, l => l.Contains("ServeUnauthenticated", StringComparison.Ordinal) || l.Contains("[9002]", StringComparison.Ordinal));
        Assert.DoesNotContain(f.Bodies.Concat(f.LogLines), text => text.Contains(f.Token, StringComparison.Ordinal));
        Assert.DoesNotContain(f.Bodies.Concat(f.LogLines), text => text.Contains(keyBody[..40], StringComparison.Ordinal));
    }

    [Fact]
    public void a_non_loopback_listen_address_needs_tls()
    {
        var options = new ServeOptions { Listen = new IPEndPoint(IPAddress.Any, 3200) };
        var error = Assert.Single(options.Validate());
        Assert.Contains("needs TLS", error);
        Assert.Contains("--tls-cert and --tls-key", error);
        Assert.Empty(new ServeOptions { Listen = new IPEndPoint(IPAddress.Any, 3200), TlsCertFile = "c", TlsKeyFile = "k" }.Validate());
        Assert.Contains("give both", Assert.Single(new ServeOptions { Listen = new IPEndPoint(IPAddress.Loopback, 3200), TlsCertFile = "c" }.Validate()));
        Assert.Contains("client certificates need TLS", Assert.Single(new ServeOptions { Listen = new IPEndPoint(IPAddress.Loopback, 3200), ClientCaFile = "ca" }.Validate()));
    }

    [Theory]
    [InlineData("0.0.0.0", "not host:port")]
    [InlineData("example.com:3200", "not an IP address")]
    [InlineData("127.0.0.1:99999", "not host:port")]
    public void listen_addresses_are_ip_literals(string text, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => ServeOptions.ParseListen(text)).Message);

    [Fact]
    public async Task over_tls_a_client_certificate_from_the_configured_ca_authenticates_without_the_token()
    {
        using var store = new StoreBuilder();
        await store.WriteAsync(cut: false, (ServeData.Failing(), Otlp.OtlpSignal.Traces));
        var pki = Path.Combine(store.Dir, "pki");
        DevPki.Init(pki, ["127.0.0.1", "localhost"]);
        var options = new ServeOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            TlsCertFile = Path.Combine(pki, "server.crt"),
            TlsKeyFile = Path.Combine(pki, "server.key"),
            ClientCaFile = Path.Combine(pki, "ca.crt"),
        };
        await using var host = new ServeHost(options, store.Reader(), store.Store, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        Assert.StartsWith("https://", host.BaseUrl);
        var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(pki, "ca.crt"));

        HttpClient Client(bool withCertificate)
        {
            var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, cert, chain, _) =>
                {
                    chain!.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(cert!);
                },
            };
            if (withCertificate)
            {
                handler.ClientCertificates.Add(X509Certificate2.CreateFromPemFile(Path.Combine(pki, "client.crt"), Path.Combine(pki, "client.key")));
            }

            return new HttpClient(handler) { BaseAddress = new Uri(host.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        }

        using var withCert = Client(withCertificate: true);
        using var ok = await withCert.GetAsync("/api/traces/" + ServeData.FailingTraceHex);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        using var without = Client(withCertificate: false);
        using var refused = await without.GetAsync("/api/echo");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // The login link over TLS sets a Secure cookie.
        using var noRedirect = new HttpClient(new HttpClientHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ServerCertificateCustomValidationCallback = (_, _, _, _) => true,
        }) { BaseAddress = new Uri(host.BaseUrl) };
        using var login = await noRedirect.GetAsync(host.LoginUrl);
        Assert.Contains("secure", Assert.Single(login.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }
}
