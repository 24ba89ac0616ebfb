#!/usr/bin/env bash
# 3x overload against a collector with memory_limiter + sealed_store (durability fsync), loopback, mTLS.
#
#  1. capacity: a collector whose memory_limiter never trips (limit_mib 8192) takes loadgen at full speed for
#     CAPACITY_SECONDS; its acknowledged requests/s is "what the collector sustains" (R).
#  2. overload: a fresh collector with memory_limiter limit_mib LIMIT_MIB, spike_limit_mib SPIKE_MIB,
#     check_interval 100ms gets loadgen at --rate 3R for DURATION with more connections and streams.
#     VmRSS / RssAnon / RssFile are sampled every 200 ms; during the run curl probes OTLP/HTTP and OTLP/gRPC
#     once a second and records the refusal (status, Retry-After, grpc-status, RetryInfo in the details).
#  3. the collector is stopped (SIGTERM) and the store is read back with `traceseal query` (every object
#     authenticated): stored spans and distinct trace ids against loadgen's acknowledged counts.
#
# Targets (docs/reliability.md, DESIGN.md): peak RSS <= limit + 20 %; clients see only retryable refusals
# (HTTP 503 + Retry-After / gRPC 14 UNAVAILABLE + RetryInfo), no transport errors (resets); nothing
# acknowledged is missing. Exit 1 when one is missed.
#
# Usage: bench/reliability/overload.sh [--protocol http/protobuf|grpc] [--duration 30s]
# Environment: LIMIT_MIB (256), SPIKE_MIB (64), CAPACITY_SECONDS (8), CONNECTIONS (8), CONCURRENCY (8),
#   DOTNET_GCHeapHardLimit etc. are passed to the collector unchanged; see lib.sh for TS_CLI/RELI_PORT_BASE.
# Bounded: 420 s in all.
RELI_MAX_SECONDS=420
source "$(dirname "$0")/lib.sh"

PROTOCOL=http/protobuf DURATION=30s
while [[ $# -gt 0 ]]; do
  case "$1" in
    --protocol) PROTOCOL=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "overload.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
LIMIT_MIB=${LIMIT_MIB:-256} SPIKE_MIB=${SPIKE_MIB:-64} CAPACITY_SECONDS=${CAPACITY_SECONDS:-8}
CONNECTIONS=${CONNECTIONS:-8} CONCURRENCY=${CONCURRENCY:-8}
case "$PROTOCOL" in grpc) PORT=$GRPC_PORT ;; http/protobuf) PORT=$HTTP_PORT ;; *) echo "protocol: grpc or http/protobuf" >&2; exit 2 ;; esac

ensure_cli
pki_and_keys
LOAD0=$(loadavg)
echo "machine: $(nproc) cores, $(uname -sr); load average at start $LOAD0"

# ------------------------------------------------------------------ 1. capacity
write_config "$WORK/capacity.yaml" "$WORK/store-capacity" "  memory_limiter: { check_interval: 100ms, limit_mib: 8192, spike_limit_mib: 64 }"
start_collector "$WORK/capacity.yaml" "$WORK/capacity.log"
rss_sampler "$COLLECTOR_PID" "$WORK/capacity.rss"
say "capacity: loadgen $PROTOCOL, full speed, ${CAPACITY_SECONDS}s, 4 connections x 4 streams"
loadgen_bg "$WORK/capacity.json" --endpoint "https://127.0.0.1:$PORT" --protocol "$PROTOCOL" --duration "${CAPACITY_SECONDS}s"
wait_loadgen
stop_collector
CAP_RPS=$(jq -r '.requests_per_second' "$WORK/capacity.json")
CAP_SPS=$(jq -r '.spans_per_second' "$WORK/capacity.json")
CAP_PEAK=$(sort -n "$WORK/capacity.rss" | tail -1)
RATE=$(awk -v r="$CAP_RPS" 'BEGIN { printf "%d", r * 3 + 0.5 }')
echo "capacity: $CAP_RPS req/s, $CAP_SPS spans/s acknowledged, errors $(jq -c '.errors_by_status' "$WORK/capacity.json"), peak RSS $((CAP_PEAK / 1024)) MiB (limiter at 8192 MiB never trips); load average $(loadavg)"
if [[ $RATE -lt 10 ]]; then echo "FAIL: capacity run acknowledged almost nothing" >&2; exit 1; fi

# ------------------------------------------------------------------ 2. overload
write_config "$WORK/overload.yaml" "$WORK/store" \
  "  memory_limiter: { check_interval: 100ms, limit_mib: $LIMIT_MIB, spike_limit_mib: $SPIKE_MIB }"
start_collector "$WORK/overload.yaml" "$WORK/overload.log"
: >"$WORK/mem.tsv"
( while kill -0 "$COLLECTOR_PID" 2>/dev/null; do
    awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } /^RssFile/ { f = $2 } END { if (r) print r "\t" a "\t" f }' "/proc/$COLLECTOR_PID/status" 2>/dev/null || true
    sleep 0.2
  done ) >"$WORK/mem.tsv" &
SAMPLER_PID=$!
CHILDREN+=("$SAMPLER_PID")

say "overload: loadgen $PROTOCOL --rate $RATE (3 x $CAP_RPS req/s) for $DURATION, $CONNECTIONS connections x $CONCURRENCY streams"
loadgen_bg "$WORK/overload.json" --endpoint "https://127.0.0.1:$PORT" --protocol "$PROTOCOL" --duration "$DURATION" \
  --rate "$RATE" --connections "$CONNECTIONS" --concurrency "$CONCURRENCY"

# Probes: one minimal valid OTLP request (one span) per second over each protocol; record the answer.
probe_bodies "$WORK"
CURL_TLS=(--cacert "$WORK/pki/ca.crt" --cert "$WORK/pki/client.crt" --key "$WORK/pki/client.key" --max-time 10)
: >"$WORK/probes.txt"
PROBE_ACKED=0
while kill -0 "$LOADGEN_PID" 2>/dev/null; do
  h=$(curl -s "${CURL_TLS[@]}" -o /dev/null -D - -H 'content-type: application/x-protobuf' \
      --data-binary @"$WORK/probe.pb" "https://127.0.0.1:$HTTP_PORT/v1/traces" 2>&1 | tr -d '\r') || true
  status=$(awk 'NR == 1 { print $2 }' <<<"$h"); ra=$(awk -F': ' 'tolower($1) == "retry-after" { print $2 }' <<<"$h")
  echo "http ${status:-none} retry-after=${ra:--}" >>"$WORK/probes.txt"
  [[ $status == 200 ]] && PROBE_ACKED=$((PROBE_ACKED + 1))
  h=$(curl -s "${CURL_TLS[@]}" --http2 -o /dev/null -D - -H 'content-type: application/grpc' -H 'te: trailers' \
      --data-binary @"$WORK/probe.grpc" "https://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.trace.v1.TraceService/Export" 2>&1 | tr -d '\r') || true
  gs=$(awk -F': ' '$1 == "grpc-status" { print $2 }' <<<"$h")
  det=$(awk -F': ' '$1 == "grpc-status-details-bin" { print $2 }' <<<"$h")
  ri=-
  if [[ -n $det ]]; then
    pad=$(( (4 - ${#det} % 4) % 4 )); det="$det$(printf '%*s' "$pad" '' | tr ' ' '=')"
    if base64 -d <<<"$det" 2>/dev/null | grep -aq 'google.rpc.RetryInfo'; then ri=RetryInfo; else ri=details-without-RetryInfo; fi
  fi
  echo "grpc ${gs:-none} $ri" >>"$WORK/probes.txt"
  [[ $gs == 0 ]] && PROBE_ACKED=$((PROBE_ACKED + 1))
  sleep 1
done
wait_loadgen
LOAD1=$(loadavg)
ACCEPTED_METRIC=$(metric 'traceseal_receiver_items_accepted_total{receiver="otlp"')
REFUSED_METRIC=$(metric 'traceseal_receiver_refused_total{receiver="otlp",protocol="all",reason="sink_refused"}')
stop_collector
kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; forget "$SAMPLER_PID"

read -r STORED_SPANS STORED_TRACES QUERY_RC PROBE_SPANS < <(stored_counts "$WORK/store")

# ------------------------------------------------------------------ table
O="$WORK/overload.json"
ACK_REQ=$(jq -r '.requests' "$O"); ACK_SPANS=$(jq -r '.spans' "$O"); SPR=$(jq -r '.spans_per_request' "$O")
PEAK=$(sort -n -k1,1 "$WORK/mem.tsv" | tail -1)
PEAK_KB=$(cut -f1 <<<"$PEAK"); PEAK_ANON=$(cut -f2 <<<"$PEAK"); PEAK_FILE=$(cut -f3 <<<"$PEAK")
BOUND_KB=$((LIMIT_MIB * 1024 * 12 / 10))
TRANSPORT_ERRORS=$(jq -r '[.errors_by_status | to_entries[] | select(.key | test("^(http 503|grpc 14)( |$)") | not) | .value] | add // 0' "$O")
# The probes all use one trace id and span id: the reader shows them as one span (or none if none was acknowledged).
MISSING_TRACES=$(( ACK_REQ - (STORED_TRACES - (PROBE_SPANS > 0 ? 1 : 0)) ))
((MISSING_TRACES < 0)) && MISSING_TRACES=0
MISSING_SPANS=$(( ACK_SPANS - (STORED_SPANS - PROBE_SPANS) ))
((PROBE_ACKED > 0 && PROBE_SPANS == 0)) && MISSING_SPANS=$((MISSING_SPANS + 1))
((MISSING_SPANS < 0)) && MISSING_SPANS=0

echo
echo "overload: $PROTOCOL, --rate $RATE req/s (3 x capacity $CAP_RPS req/s), $DURATION, $CONNECTIONS x $CONCURRENCY, memory_limiter limit_mib $LIMIT_MIB spike_limit_mib $SPIKE_MIB check_interval 100ms${DOTNET_GCHeapHardLimit:+, DOTNET_GCHeapHardLimit=$DOTNET_GCHeapHardLimit}"
echo "load average (1/5/15 min): start $LOAD0, end of overload $LOAD1 on $(nproc) CPUs"
jq -r '"loadgen: sent \(.requests + .errors) requests, acknowledged \(.requests) (\(.spans) spans, \(.spans_per_second|floor) spans/s), refused/failed \(.errors); latency of acknowledged p50 \(.latency_us.p50/1000) ms p99 \(.latency_us.p99/1000) ms"' "$O"
jq -r '.errors_by_status | to_entries[] | "  client saw: \(.key) x \(.value)"' "$O"
echo "  curl probes (1/s over each protocol): $(sort "$WORK/probes.txt" | uniq -c | awk '{ $1 = $1 "x"; print }' | paste -sd';' -)"
echo "collector: accepted items $ACCEPTED_METRIC, sink_refused requests $REFUSED_METRIC, SIGTERM exit $STOP_RC"
echo "RSS samples: $(wc -l <"$WORK/mem.tsv") every 200 ms; at peak: VmRSS $((PEAK_KB / 1024)) MiB = RssAnon $((PEAK_ANON / 1024)) MiB + RssFile $((PEAK_FILE / 1024)) MiB (+shmem)"
SOFT_KB=$(( (LIMIT_MIB - SPIKE_MIB) * 1024 ))
echo "RSS over the run: median $(( $(cut -f1 "$WORK/mem.tsv" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] + 0 }') / 1024 )) MiB; above the soft limit ($((SOFT_KB / 1024)) MiB, where the limiter refuses) in $(awk -v s="$SOFT_KB" '$1 > s { n++ } END { printf "%d%%", NR ? 100 * n / NR : 0 }' "$WORK/mem.tsv") of the samples; goodput $(jq -r '.spans_per_second|floor' "$O") spans/s = $(awk -v a="$(jq -r '.spans_per_second' "$O")" -v c="$CAP_SPS" 'BEGIN { printf "%.0f%%", 100 * a / c }') of capacity"
printf '%-44s %16s %16s %s\n' check measured target verdict
v() { if [[ $1 == 1 ]]; then echo met; else echo MISSED; fi; }
ok_rss=$((PEAK_KB <= BOUND_KB ? 1 : 0))
ok_codes=$((TRANSPORT_ERRORS == 0 ? 1 : 0))
ok_probe=1; grep -Eq '^http (503 retry-after=-|none)|^grpc (14 -|14 details-without-RetryInfo|none)' "$WORK/probes.txt" && ok_probe=0
ok_lost=$((MISSING_TRACES == 0 && MISSING_SPANS == 0 && QUERY_RC == 0 ? 1 : 0))
ok_up=$((STOP_RC == 0 || STOP_RC == 143 ? 1 : 0))
refusals=$(jq -r '[.errors_by_status | to_entries[] | select(.key | test("^(http 503|grpc 14)( |$)")) | .value] | add // 0' "$O")
printf '%-44s %16s %16s %s\n' "peak RSS (MiB)" "$((PEAK_KB / 1024))" "<= $((BOUND_KB / 1024))" "$(v $ok_rss)"
printf '%-44s %16s %16s %s\n' "retryable refusals seen by loadgen" "$refusals" "> 0" "$( ((refusals > 0)) && echo met || echo 'MISSED (not overloaded)')"
printf '%-44s %16s %16s %s\n' "non-retryable / transport errors (resets)" "$TRANSPORT_ERRORS" "0" "$(v $ok_codes)"
printf '%-44s %16s %16s %s\n' "refusals carry Retry-After / RetryInfo" "$(grep -c -E '^http 503 retry-after=[0-9]|^grpc 14 RetryInfo' "$WORK/probes.txt")/$(grep -c -E '^http 503|^grpc 14' "$WORK/probes.txt") probes" "all" "$(v $ok_probe)"
printf '%-44s %16s %16s %s\n' "acknowledged spans (loadgen)" "$ACK_SPANS" "" ""
printf '%-44s %16s %16s %s\n' "stored loadgen spans (traceseal query, exit $QUERY_RC)" "$((STORED_SPANS - PROBE_SPANS))" ">= acknowledged" ""
printf '%-44s %16s %16s %s\n' "probe requests acknowledged / probe span stored" "$PROBE_ACKED / $PROBE_SPANS" "" ""
printf '%-44s %16s %16s %s\n' "acknowledged traces / spans missing" "$MISSING_TRACES / $MISSING_SPANS" "0" "$(v $ok_lost)"
printf '%-44s %16s %16s %s\n' "collector stayed up, clean SIGTERM exit" "$STOP_RC" "0 or 143" "$(v $ok_up)"
if ((ok_rss == 0)); then
  echo "RSS above limit + 20 %: at the peak RssAnon (GC heap + native allocations: Kestrel/TLS buffers, sealing buffers) was $((PEAK_ANON / 1024)) MiB and RssFile (mapped assemblies) $((PEAK_FILE / 1024)) MiB."
  echo "  To split the GC heap from native memory run dotnet-counters (System.Runtime: gc-heap-size) next to it; DOTNET_GCHeapHardLimit=0x... caps the GC heap (OOM instead of growth)."
fi
if ((ok_rss && ok_codes && ok_probe && ok_lost && ok_up && refusals > 0)); then echo "PASS"; exit 0; fi
echo "FAIL: target missed (see the table)"
exit 1
