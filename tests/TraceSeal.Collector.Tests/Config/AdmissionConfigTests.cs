using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.MemoryLimiter;

namespace TraceSeal.Collector.Tests.Config;

/// <summary>`memory_limiter`'s upstream GC interval keys and `service::admission`: defaults, values, one exact message per mistake.</summary>
public sealed class AdmissionConfigTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void memory_limiter_takes_upstreams_gc_interval_keys()
    {
        var config = _f.Parse(Yaml(limiter: """
                min_gc_interval_when_soft_limited: 5s
                min_gc_interval_when_hard_limited: 500ms
            """));

        var limiter = Assert.IsType<MemoryLimiterSettings>(config.Processors["memory_limiter"]);
        Assert.Equal(TimeSpan.FromSeconds(5), limiter.MinGcIntervalWhenSoftLimited);
        Assert.Equal(TimeSpan.FromMilliseconds(500), limiter.MinGcIntervalWhenHardLimited);
    }

    [Fact]
    public void memory_limiter_gc_intervals_default_to_upstreams_10s_and_0()
    {
        var limiter = Assert.IsType<MemoryLimiterSettings>(_f.Parse(Yaml()).Processors["memory_limiter"]);

        Assert.Equal(TimeSpan.FromSeconds(10), limiter.MinGcIntervalWhenSoftLimited);
        Assert.Equal(TimeSpan.Zero, limiter.MinGcIntervalWhenHardLimited);
    }

    [Fact]
    public void a_hard_limited_gc_interval_longer_than_the_soft_one_is_refused()
    {
        var errors = _f.Errors(Yaml(limiter: """
                min_gc_interval_when_hard_limited: 20s
            """));

        Assert.Equal([_f.At(10, 40, "processors::memory_limiter::min_gc_interval_when_hard_limited: min_gc_interval_when_hard_limited (20s) " +
            "must not be longer than min_gc_interval_when_soft_limited (10s)")], errors);
    }

    [Fact]
    public void admission_defaults_to_a_budget_computed_at_start()
    {
        var config = _f.Parse(Yaml());

        Assert.Null(config.Admission.MaxInFlightBytes);
        Assert.Equal(
            AdmissionSettings.DefaultBytes(config.Receivers, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes),
            config.Admission.EffectiveBytes(config.Receivers));
    }

    [Fact]
    public void admission_takes_a_byte_size()
    {
        var config = _f.Parse(Yaml(service: """
              admission:
                max_in_flight_bytes: 256MiB
            """));

        Assert.Equal(256L * 1024 * 1024, config.Admission.MaxInFlightBytes);
        Assert.Equal(256L * 1024 * 1024, config.Admission.EffectiveBytes(config.Receivers));
    }

    [Fact]
    public void an_admission_budget_that_cannot_hold_one_largest_request_is_refused()
    {
        // The http receiver's default max_request_body_size is 20 MiB: 6 x (20 MiB + 1) = 120 MiB and 6 bytes.
        var errors = _f.Errors(Yaml(service: """
              admission:
                max_in_flight_bytes: 16MiB
            """));

        Assert.Equal([_f.At(15, 26, "service::admission::max_in_flight_bytes: \"16MiB\" cannot hold one request of the largest size the " +
            "receivers accept, which needs at least 121MiB (body, inflated body, transcoded body and transcoding scratch); raise it, or " +
            "lower max_request_body_size / max_recv_msg_size_mib")], errors);
    }

    [Fact]
    public void an_unknown_admission_key_is_refused()
    {
        var errors = _f.Errors(Yaml(service: """
              admission:
                request_limit_mib: 128
            """));

        Assert.Equal([_f.At(15, 5, "service::admission: unknown key \"request_limit_mib\" (supported: max_in_flight_bytes)")], errors);
    }

    /// <summary>A plaintext http receiver, a memory_limiter (plus <paramref name="limiter"/> keys), discard; <paramref name="service"/> goes first under service.</summary>
    private static string Yaml(string limiter = "", string service = "") => $$"""
        receivers:
          otlp:
            protocols:
              http:
                allow_plaintext: true
        processors:
          memory_limiter:
            check_interval: 1s
            limit_mib: 512
        {{limiter}}
        exporters:
          discard:
        service:
        {{service}}
          pipelines:
            traces:
              receivers: [otlp]
              processors: [memory_limiter]
              exporters: [discard]
        """;
}
