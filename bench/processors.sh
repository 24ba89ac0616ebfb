#!/usr/bin/env bash
# What processors that change telemetry (attributes, resource, redaction) cost per span: a 1000-span request (as
# loadgen builds it) through TelemetryPipeline.ProcessAsync to an exporter that does nothing: batch only (no decode)
# vs one attributes upsert (the decode + re-encode floor) vs the same upsert behind include (regexp on service and
# span name) / exclude (an attribute key) that every span passes vs attributes (hash, insert, delete) + redaction
# (allow list, two blocked_values patterns). Two rounds (read the second: the first pays tiered JIT). Pinned to one
# CPU; the load average before and after.
#   bench/processors.sh                 # CPU time per span (10 s per pipeline), then BenchmarkDotNet's default job
#   bench/processors.sh --quick         # CPU time, then BenchmarkDotNet's ShortRun job
#   bench/processors.sh --cpu-only      # CPU time only
set -euo pipefail
cd "$(dirname "$0")/.."
ART="${BENCH_ARTIFACTS:-$(mktemp -d /tmp/ts-processors-bench.XXXXXX)}"
CPU="${BENCH_CPU:-1}"
SECONDS_PER_PIPELINE="${BENCH_SECONDS:-10}"
dotnet build bench/TraceSeal.Benchmarks -c Release --artifacts-path "$ART" -v quiet -nologo >/dev/null
DLL="$ART/bin/TraceSeal.Benchmarks/release/TraceSeal.Benchmarks.dll"
echo "loadavg before: $(cat /proc/loadavg)"
(cd "$ART" && taskset -c "$CPU" dotnet "$DLL" --processors-cpu "$SECONDS_PER_PIPELINE")
if [[ "${1:-}" != "--cpu-only" ]]; then
  (cd "$ART" && taskset -c "$CPU" dotnet "$DLL" "$@" --filter '*ProcessorBenchmarks*') \
    | grep -E '^\|.*(Method|pipeline|---)|^MICRO|^(Intel|AMD)' || true
fi
echo "loadavg after: $(cat /proc/loadavg)"
