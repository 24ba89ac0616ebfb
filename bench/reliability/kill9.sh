#!/usr/bin/env bash
# kill -9 the collector during ingest, CYCLES times, then check that every acknowledged trace is stored.
#
# The driver is the Kill9 test (tests/TraceSeal.Storage.Tests/Crash/): it runs the real `traceseal collector`
# binary as a child process (mTLS OTLP/HTTP receiver, sealed_store with durability fsync), sends with 8
# concurrent senders, each request with its own trace id, records every request that got 200, SIGKILLs the
# collector after a varying number of acknowledgements, restarts it, and finally reads the store with the
# reader library (every object authenticated). `traceseal loadgen` reports counts but not which requests were
# acknowledged, which this check needs; so the test is the driver even when loadgen exists.
#
# Usage: bench/reliability/kill9.sh [CYCLES]   (default 20; environment: SEED to repeat a run)
# Bounded: the whole run is killed after 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
CYCLES="${1:-20}"
ART="${ART:-/tmp/ts-art-crash}"
REPORT="$(mktemp /tmp/traceseal-kill9-XXXXXX.txt)"
trap 'rm -f "$REPORT"' EXIT

echo "machine: $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet build tests/TraceSeal.Storage.Tests --artifacts-path "$ART" -v q -nologo >/dev/null
if dotnet "$ART/bin/TraceSeal.Cli/debug/traceseal.dll" loadgen --help >/dev/null 2>&1; then
  echo "traceseal loadgen: available (not used: it cannot say which requests were acknowledged)"
else
  echo "traceseal loadgen: not available in this build"
fi

export TRACESEAL_KILL9_CYCLES="$CYCLES" TRACESEAL_KILL9_REPORT="$REPORT"
if [[ -n "${SEED:-}" ]]; then export TRACESEAL_KILL9_SEED="$SEED"; fi
status=0
timeout 900 dotnet test tests/TraceSeal.Storage.Tests --no-build --artifacts-path "$ART" \
  --filter "FullyQualifiedName~Crash.Kill9Tests" --logger "console;verbosity=normal" >/dev/null || status=$?
if [[ -s "$REPORT" ]]; then cat "$REPORT"; else echo "no report written (test did not get as far as reading the store)"; fi
if [[ $status -eq 0 ]]; then echo "PASS: every acknowledged trace id is in the store"; else echo "FAIL (exit $status)"; fi
exit $status
