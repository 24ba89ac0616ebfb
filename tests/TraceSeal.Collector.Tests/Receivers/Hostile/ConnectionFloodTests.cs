using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: ~20k idle connections took 16.7k fds and 1.3 GB while ordinary clients were refused. Here, on loopback
/// and bounded: one address floods over its per-address limit and is closed at once (counted), another address
/// keeps being served; the global limit holds; idle connections are closed; a PING flood closes its connection.
/// </summary>
public sealed class ConnectionFloodTests : IDisposable
{
    private const string Protobuf = "application/x-protobuf";

    private readonly ReceiverTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task a_flood_from_one_address_is_closed_over_its_limit_while_an_ordinary_client_succeeds()
    {
        var limits = new ReceiverLimitSettings { MaxConnections = 200, MaxConnectionsPerAddress = 16 };
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, limits: limits);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        var flood = new List<Socket>();
        try
        {
            // 48 raw TCP connections (no TLS) from 127.0.0.2: the first 16 are held (until the handshake timeout), the rest closed.
            int resetAtConnect = 0;
            for (int i = 0; i < 48; i++)
            {
                try
                {
                    flood.Add(await HostileClient.ConnectAsync(harness.Receiver.HttpEndpoint!.Port, HostileClient.FloodAddress));
                }
                catch (SocketException)
                {
                    resetAtConnect++; // refused so fast that the connect itself saw the reset
                }
            }

            // Meanwhile, an ordinary client on 127.0.0.1: 100 requests.
            int ok = 0;
            for (int i = 0; i < 100; i++)
            {
                using HttpResponseMessage response = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(2), Protobuf));
                ok += response.IsSuccessStatusCode ? 1 : 0;
            }

            Assert.True(ok >= 99, $"{ok} of 100 ordinary requests succeeded during the flood");
            await Eventually.TrueAsync(() => harness.Receiver.Counters.ConnectionsRefused(ConnectionRefusal.MaxConnectionsPerAddress) == 32, "32 connections over the per-address limit refused");
            Assert.Equal(16, harness.Receiver.Guards.Connections.OpenFrom(HostileClient.FloodAddress));
            Assert.Equal(0, harness.Receiver.Counters.ConnectionsRefused(ConnectionRefusal.MaxConnections));

            // The refused ones were closed by the server, not left hanging.
            Assert.True(resetAtConnect == 32 || await HostileClient.ClosedByServerAsync(flood[^1], HostileClient.Bound), "a connection over the limit is closed by the server");
        }
        finally
        {
            flood.ForEach(s => s.Dispose());
        }

        // Closed connections give their slots back.
        await Eventually.TrueAsync(() => harness.Receiver.Guards.Connections.OpenFrom(HostileClient.FloodAddress) == 0, "the flood's slots released");
        Assert.Equal(200, harness.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task the_global_limit_refuses_connections_beyond_it_whatever_their_address()
    {
        var limits = new ReceiverLimitSettings { MaxConnections = 12, MaxConnectionsPerAddress = 8 };
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, limits: limits);
        var sockets = new List<Socket>();
        try
        {
            foreach (string address in (string[])["127.0.0.3", "127.0.0.4", "127.0.0.5"])
            {
                for (int i = 0; i < 6; i++)
                {
                    try
                    {
                        sockets.Add(await HostileClient.ConnectAsync(harness.Receiver.GrpcEndpoint!.Port, IPAddress.Parse(address)));
                    }
                    catch (SocketException)
                    {
                        // refused before the connect returned
                    }
                }
            }

            await Eventually.TrueAsync(() => harness.Receiver.Counters.ConnectionsRefused(ConnectionRefusal.MaxConnections) == 6, "6 connections over the global limit refused");
            Assert.Equal(12, harness.Receiver.Guards.Connections.Open);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        await Eventually.TrueAsync(() => harness.Receiver.Guards.Connections.Open == 0, "all slots released");
    }

    [Fact]
    public async Task an_idle_http2_connection_is_closed_after_idle_timeout_and_the_receiver_keeps_serving()
    {
        var limits = new ReceiverLimitSettings { IdleTimeout = TimeSpan.FromSeconds(2) };
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, limits: limits);

        // Handshake done, preface and SETTINGS sent, then silence. The connection is idle from its accept on (the
        // server's idle clock starts there, before the handshake), so the time is taken from before the connect: a
        // handshake slowed by a loaded machine must not make a close right on time look early.
        var sinceConnect = Stopwatch.StartNew();
        await using SslStream idle = await HostileClient.OpenHttp2Async(harness.Receiver.GrpcEndpoint!.Port, _pki.Client.Certificate, _pki.Ca.Certificate);
        TimeSpan handshake = sinceConnect.Elapsed;
        bool closed = await HostileClient.ClosedByServerAsync(idle, HostileClient.Bound);
        TimeSpan after = sinceConnect.Elapsed;

        Assert.True(closed, "the idle connection was closed by the server");
        Assert.True(after >= limits.IdleTimeout && after <= TimeSpan.FromSeconds(12),
            $"closed {after.TotalSeconds:0.000} s after the connect (handshake and preface: {handshake.TotalSeconds:0.000} s); expected from idle_timeout (2 s) to 12 s");
        await Eventually.TrueAsync(() => harness.Receiver.Guards.Connections.Open == 0, "the idle connection's slot released");

        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        using HttpResponseMessage response = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf));
        Assert.True(response.IsSuccessStatusCode);
    }

    [Fact]
    public async Task an_idle_connection_that_only_pings_is_still_closed()
    {
        // A ping every 0.5 s stays under the flood guard (20 per 10 s) but carries no request: idle all the same.
        var limits = new ReceiverLimitSettings { IdleTimeout = TimeSpan.FromSeconds(2) };
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, limits: limits);
        await using SslStream pinger = await HostileClient.OpenHttp2Async(harness.Receiver.GrpcEndpoint!.Port, _pki.Client.Certificate, _pki.Ca.Certificate);
        using var stop = new CancellationTokenSource(HostileClient.Bound);
        Task pinging = Task.Run(async () =>
        {
            try
            {
                for (long i = 0; !stop.IsCancellationRequested; i++)
                {
                    await pinger.WriteAsync(HostileClient.Ping(i), stop.Token);
                    await Task.Delay(500, stop.Token); // the attacker's pace, not synchronisation
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // closed by the server: what the test waits for
            }
        });

        bool closed = await HostileClient.ClosedByServerAsync(pinger, HostileClient.Bound);
        await stop.CancelAsync();
        await pinging;

        Assert.True(closed, "a connection that only pings is closed by the idle timeout");
        Assert.Equal(0, harness.Receiver.Counters.ConnectionsRefused(ConnectionRefusal.Http2ControlFrameFlood));
    }

    [Fact]
    public async Task a_ping_and_settings_flood_closes_its_connection_and_other_clients_are_served()
    {
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        await using SslStream flood = await HostileClient.OpenHttp2Async(harness.Receiver.GrpcEndpoint!.Port, _pki.Client.Certificate, _pki.Ca.Certificate, HostileClient.FloodAddress);

        // 2,000 PINGs and SETTINGS in a few writes: far over 100 per 10 s.
        var burst = new MemoryStream();
        for (int i = 0; i < 1000; i++)
        {
            burst.Write(HostileClient.Ping(i));
            burst.Write(HostileClient.Frame(type: 0x4, flags: 0, payload: []));
        }

        try
        {
            using var timeout = new CancellationTokenSource(HostileClient.Bound);
            await flood.WriteAsync(burst.ToArray(), timeout.Token);
            await flood.FlushAsync(timeout.Token);
        }
        catch (IOException)
        {
            // the server may already have closed it mid-write
        }

        Assert.True(await HostileClient.ClosedByServerAsync(flood, HostileClient.Bound), "the flooding connection was closed");
        Assert.Equal(1, harness.Receiver.Counters.ConnectionsRefused(ConnectionRefusal.Http2ControlFrameFlood));

        GrpcResult ordinary = await ReceiverHarness.SendGrpcAsync(client, ReceiverHarness.GrpcPost(harness.GrpcUri("/opentelemetry.proto.collector.trace.v1.TraceService/Export"), OtlpTestData.GrpcFrame(OtlpTestData.Traces(2))));
        Assert.Equal(GrpcCodes.Ok, ordinary.GrpcStatus);
    }
}
