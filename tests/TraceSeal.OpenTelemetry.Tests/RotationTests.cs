using TraceSeal.OpenTelemetry.Tests.Infrastructure;
using TraceSeal.Pki;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>The client certificate is replaced on disk while the app exports; no restart, no lost export.</summary>
[Collection(SdkCollection.Name)]
public sealed class RotationTests(TestPki pki)
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task A_rotated_client_certificate_is_used_by_the_next_connection_without_failed_exports(string protocol)
    {
        string dir = pki.NewDirectory();
        string cert = Path.Combine(dir, "client.crt");
        string key = Path.Combine(dir, "client.key");
        using (var first = DevPki.IssueClient(pki.Ca, "app-before-rotation"))
        {
            first.WriteFiles(cert, key);
        }

        await using var receiver = await Receiver.StartAsync(pki);
        var env = TestApp.MutualTls(pki, receiver.Url(protocol), protocol);
        env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = cert;
        env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = key;
        using var app = TestApp.Start(env, o => o.CertificateReloadInterval = TimeSpan.FromMilliseconds(500));

        int sent = 0;
        for (int i = 0; i < 3; i++)
        {
            Assert.True(app.Export(5));
            sent += 5;
        }

        await Eventually.WaitUntilAsync(() => receiver.Spans >= sent, TimeSpan.FromSeconds(20), () => $"{receiver.Spans}/{sent}\n{app.Logs}");
        Assert.All(receiver.Batches, b => Assert.Contains("app-before-rotation", b.Identity, StringComparison.Ordinal));

        // Rotate while exporting: the key file is replaced first, then the certificate (each atomically), so
        // for a moment the pair does not match; that state must be skipped, not applied.
        using (var second = DevPki.IssueClient(pki.Ca, "app-after-rotation"))
        {
            second.WriteFiles(cert, key);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!receiver.Batches.Any(b => b.Identity.Contains("app-after-rotation", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the receiver never saw the new certificate\n{app.Logs}");
            Assert.True(app.Export(5));
            sent += 5;
            await Task.Delay(100);
        }

        // After the switch, every new batch carries the new identity.
        int switchedAt = receiver.Batches.Count;
        for (int i = 0; i < 3; i++)
        {
            Assert.True(app.Export(5));
            sent += 5;
        }

        await Eventually.WaitUntilAsync(() => receiver.Spans >= sent, TimeSpan.FromSeconds(20), () => $"{receiver.Spans}/{sent}\n{app.Logs}");
        Assert.All(receiver.Batches.Skip(switchedAt), b => Assert.Contains("app-after-rotation", b.Identity, StringComparison.Ordinal));
        Assert.Equal(sent, receiver.Spans);
        Assert.Equal(0, app.Logs.Count("ExportFailed"));
        Assert.Equal(0, app.Logs.Count("ItemsDropped"));
        Assert.True(app.Logs.Count("Retrying") <= 1, app.Logs.ToString());
        Assert.Contains(app.Logs.Messages("CertificatesReloaded"), m => m.Contains("CN=app-after-rotation", StringComparison.Ordinal));
    }
}
