#!/usr/bin/env bash
# Overload against a collector with memory_limiter + sealed_store (durability fsync), loopback, mTLS. Two modes.
#
# --fixed-rate (meaningful on a busy machine): what the collector takes is fixed by configuration, not measured:
#  tenant "steady" (the dev client) has a quota of QUOTA requests/s (refused with 429 + Retry-After /
#  RESOURCE_EXHAUSTED + RetryInfo). loadgen offers OVER_FACTOR x QUOTA for OVER_SECONDS + BURST_SECONDS; after
#  OVER_SECONDS a second loadgen, as tenant "burst" without a quota, adds BURST_FACTOR x QUOTA (BURST_CONNECTIONS,
#  BURST_SPANS spans per request) for BURST_SECONDS, which only the admission budget, the memory limiter and the
#  WAL hold; then a third offers RECOVER_FACTOR x QUOTA (below the quota) for RECOVER_SECONDS while curl probes
#  both protocols every 0.5 s and /metrics is sampled every 0.5 s. Checks: the offered load really was above the
#  quota (else INCONCLUSIVE, exit 3: the client could not offer it), only retryable refusals (503/429 with
#  Retry-After, gRPC 14/8 with RetryInfo), the last refusal comes at most RECOVERY_BOUND s after the burst and
#  every probe after it is acknowledged (acceptance returns by itself), peak RSS <= limit + 20 %, every
#  acknowledged span reads back.
#
# default (capacity-relative, 3x):
#  1. capacity: a collector whose memory_limiter never trips (limit_mib 8192) takes loadgen at full speed for
#     CAPACITY_SECONDS; its acknowledged requests/s is "what the collector sustains" (R).
#  2. overload: a fresh collector with memory_limiter limit_mib LIMIT_MIB, spike_limit_mib SPIKE_MIB,
#     check_interval 100ms gets loadgen at --rate 3R for DURATION with more connections and streams.
#     VmRSS / RssAnon / RssFile are sampled every 200 ms; during the run curl probes OTLP/HTTP and OTLP/gRPC
#     once a second and records the refusal (status, Retry-After, grpc-status, RetryInfo in the details).
#  3. the collector is stopped (SIGTERM) and the store is read back with `traceseal query` (every object
#     authenticated): stored spans and distinct trace ids against loadgen's acknowledged counts.
#  On a loaded machine the capacity step measures the starved client, so 3R may be no overload at all (the
#  "retryable refusals > 0" check then fails): use --fixed-rate there.
#
# Targets (docs/reliability.md): peak RSS <= limit + 20 %; clients see only retryable refusals
# (HTTP 503/429 + Retry-After / gRPC 14 UNAVAILABLE or 8 RESOURCE_EXHAUSTED + RetryInfo), no transport errors
# (resets); nothing acknowledged is missing. Exit 1 when one is missed.
#
# Usage: bench/reliability/overload.sh [--fixed-rate] [--protocol http/protobuf|grpc] [--duration 30s]
# Environment: LIMIT_MIB (256), SPIKE_MIB (64), CAPACITY_SECONDS (8), CONNECTIONS (8), CONCURRENCY (8);
#   --fixed-rate: QUOTA (100), SPANS (20), OVER_FACTOR (2), OVER_SECONDS (20), BURST_FACTOR (10), BURST_SECONDS (5),
#   BURST_SPANS (20), BURST_CONNECTIONS (16), RECOVER_FACTOR (0.5), RECOVER_SECONDS (15), RECOVERY_BOUND (5),
#   CHECK_INTERVAL (1s, the memory_limiter's);
#   DOTNET_GCHeapHardLimit etc. are passed to the collector unchanged; see lib.sh for TS_CLI/RELI_PORT_BASE.
RELI_MAX_SECONDS=600  # bounded: 600 s in all (reading back a large store takes minutes on a busy machine)
source "$(dirname "$0")/lib.sh"

PROTOCOL=http/protobuf DURATION=30s FIXED_RATE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --protocol) PROTOCOL=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --fixed-rate) FIXED_RATE=1 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "overload.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
LIMIT_MIB=${LIMIT_MIB:-256} SPIKE_MIB=${SPIKE_MIB:-64} CAPACITY_SECONDS=${CAPACITY_SECONDS:-8}
CONNECTIONS=${CONNECTIONS:-8} CONCURRENCY=${CONCURRENCY:-8}
case "$PROTOCOL" in grpc) PORT=$GRPC_PORT ;; http/protobuf) PORT=$HTTP_PORT ;; *) echo "protocol: grpc or http/protobuf" >&2; exit 2 ;; esac

# probe_once: one minimal valid OTLP request (one span, probe_bodies) over OTLP/HTTP and one over OTLP/gRPC; prints
# "http STATUS retry-after=SECONDS|-" and "grpc CODE RetryInfo|details-without-RetryInfo|-" (none: no answer).
probe_once() {
  local h status ra gs det ri pad
  h=$(curl -s "${CURL_TLS[@]}" -o /dev/null -D - -H 'content-type: application/x-protobuf' \
      --data-binary @"$WORK/probe.pb" "https://127.0.0.1:$HTTP_PORT/v1/traces" 2>&1 | tr -d '\r') || true
  status=$(awk 'NR == 1 { print $2 }' <<<"$h"); ra=$(awk -F': ' 'tolower($1) == "retry-after" { print $2 }' <<<"$h")
  echo "http ${status:-none} retry-after=${ra:--}"
  h=$(curl -s "${CURL_TLS[@]}" --http2 -o /dev/null -D - -H 'content-type: application/grpc' -H 'te: trailers' \
      --data-binary @"$WORK/probe.grpc" "https://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.trace.v1.TraceService/Export" 2>&1 | tr -d '\r') || true
  gs=$(awk -F': ' '$1 == "grpc-status" { print $2 }' <<<"$h")
  det=$(awk -F': ' '$1 == "grpc-status-details-bin" { print $2 }' <<<"$h")
  ri=-
  if [[ -n $det ]]; then
    pad=$(( (4 - ${#det} % 4) % 4 )); det="$det$(printf '%*s' "$pad" '' | tr ' ' '=')"
    if base64 -d <<<"$det" 2>/dev/null | grep -aq 'google.rpc.RetryInfo'; then ri=RetryInfo; else ri=details-without-RetryInfo; fi
  fi
  echo "grpc ${gs:-none} $ri"
}

# A refusal without its retry hint, or no answer at all, in probe lines (probe_once's format, anywhere in the line).
PROBE_NOT_RETRYABLE='(^| )http (503 retry-after=-|429 retry-after=-|none)|(^| )grpc ((14|8) -|(14|8) details-without-RetryInfo|none)'

# fixed_rate_run: the --fixed-rate mode (see the header); prints its table and exits 0 (PASS), 1 (a target missed) or
# 3 (INCONCLUSIVE: loadgen could not offer more than the quota on this machine).
fixed_rate_run() {
  local quota=${QUOTA:-100} spans=${SPANS:-20} over_factor=${OVER_FACTOR:-2} over_s=${OVER_SECONDS:-20}
  local burst_factor=${BURST_FACTOR:-10} burst_s=${BURST_SECONDS:-5} burst_spans=${BURST_SPANS:-20}
  local burst_conn=${BURST_CONNECTIONS:-16} recover_factor=${RECOVER_FACTOR:-0.5} recover_s=${RECOVER_SECONDS:-15}
  local bound=${RECOVERY_BOUND:-5} check=${CHECK_INTERVAL:-1s}
  local over_rate burst_rate recover_rate t0 t_end now over_pid burst_pid metrics_pid
  over_rate=$(awk -v q="$quota" -v f="$over_factor" 'BEGIN { printf "%d", q * f + 0.5 }')
  burst_rate=$(awk -v q="$quota" -v f="$burst_factor" 'BEGIN { printf "%d", q * f + 0.5 }')
  recover_rate=$(awk -v q="$quota" -v f="$recover_factor" 'BEGIN { printf "%d", q * f + 0.5 }')
  local common=(--endpoint "https://127.0.0.1:$PORT" --protocol "$PROTOCOL" --concurrency "$CONCURRENCY")

  # The steady load and the probes (the dev client, CN traceseal-client) are tenant "steady", held to the quota; the
  # burst comes from tenant "burst" (CN burst-api), which has none: it reaches the admission budget, the memory
  # limiter and the WAL, so what is measured after it is whether they let go by themselves.
  traceseal certs client burst-api --ca-dir "$WORK/pki" >/dev/null
  write_config "$WORK/fixed.yaml" "$WORK/store" \
    "  memory_limiter: { check_interval: $check, limit_mib: $LIMIT_MIB, spike_limit_mib: $SPIKE_MIB }" "" \
    "    tenants:
      - { tenant: steady, identities: [\"cn:traceseal-client\"], quota: { requests_per_second: $quota } }
      - { tenant: burst, identities: [\"cn:burst-api\"] }"
  start_collector "$WORK/fixed.yaml" "$WORK/fixed.log"
  rss_sampler "$COLLECTOR_PID" "$WORK/mem.tsv" split
  # /metrics every 0.5 s: "EPOCH ACCEPTED_REQUESTS REFUSED_REQUESTS LIMITER_REFUSING".
  ( while kill -0 "$COLLECTOR_PID" 2>/dev/null; do
      m=$(curl -s --max-time 2 "http://127.0.0.1:$TEL_PORT/metrics" 2>/dev/null) || true
      [[ -n $m ]] && awk -v t="$(date +%s.%N)" '
        /^traceseal_receiver_requests_total\{/ && /outcome="accepted"/ { a += $NF }
        /^traceseal_receiver_requests_total\{/ && /outcome="refused"/ { r += $NF }
        /^traceseal_memory_limiter_refusing\{/ { l += $NF }
        END { print t, a + 0, r + 0, l + 0 }' <<<"$m"
      sleep 0.5
    done ) >"$WORK/metrics.tsv" &
  metrics_pid=$!
  CHILDREN+=("$metrics_pid")

  # probes PHASE UNTIL_PID...: probe_once every 0.5 s while any PID runs; lines "PHASE SECONDS_SINCE_T0 http|grpc ...".
  probes() {
    local phase=$1; shift
    while :; do
      local alive=0 p
      for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
      ((alive)) || break
      now=$(date +%s.%N)
      probe_once | awk -v p="$phase" -v t="$(awk -v a="$now" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')" '{ print p, t, $0 }' >>"$WORK/probes.txt"
      sleep 0.5
    done
  }
  : >"$WORK/probes.txt"
  t0=$(date +%s.%N)
  say "over: loadgen $PROTOCOL --rate $over_rate ($over_factor x quota $quota req/s) x $spans spans for $((over_s + burst_s))s, $CONNECTIONS x $CONCURRENCY"
  loadgen_bg "$WORK/over.json" "${common[@]}" --rate "$over_rate" --duration "$((over_s + burst_s))s" --spans-per-request "$spans" --connections "$CONNECTIONS"
  over_pid=$LOADGEN_PID
  # The burst starts OVER_SECONDS after the steady load (a schedule, not a synchronisation).
  probes over "$over_pid" & local over_probe=$!
  CHILDREN+=("$over_probe")
  while kill -0 "$over_pid" 2>/dev/null && awk -v a="$(date +%s.%N)" -v b="$t0" -v s="$over_s" 'BEGIN { exit !(a - b < s) }'; do sleep 0.2; done
  kill "$over_probe" 2>/dev/null || true; wait "$over_probe" 2>/dev/null || true; forget "$over_probe"
  say "burst: + loadgen --rate $burst_rate ($burst_factor x quota) x $burst_spans spans for ${burst_s}s, $burst_conn x $CONCURRENCY"
  LOADGEN_CLIENT=burst-api loadgen_bg "$WORK/burst.json" "${common[@]}" --rate "$burst_rate" --duration "${burst_s}s" --spans-per-request "$burst_spans" --connections "$burst_conn"
  burst_pid=$LOADGEN_PID
  probes burst "$over_pid" "$burst_pid"
  for p in "$over_pid" "$burst_pid"; do wait "$p" 2>/dev/null || true; forget "$p"; done
  t_end=$(date +%s.%N)
  local t_end_rel; t_end_rel=$(awk -v a="$t_end" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
  say "recover: loadgen --rate $recover_rate ($recover_factor x quota) for ${recover_s}s; burst ended at ${t_end_rel}s"
  loadgen_bg "$WORK/recover.json" "${common[@]}" --rate "$recover_rate" --duration "${recover_s}s" --spans-per-request "$spans" --connections 2
  probes recover "$LOADGEN_PID"
  wait_loadgen
  LOAD1=$(loadavg)
  stop_collector
  for p in "$SAMPLER_PID" "$metrics_pid"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; forget "$p"; done
  read -r STORED_SPANS STORED_TRACES QUERY_RC PROBE_SPANS < <(stored_counts "$WORK/store")

  # ---------------------------------------------------------------- figures
  local j ack_req=0 ack_spans=0 refusals=0 other=0
  for j in over burst recover; do
    ack_req=$((ack_req + $(jq -r '.requests' "$WORK/$j.json"))); ack_spans=$((ack_spans + $(jq -r '.spans' "$WORK/$j.json")))
    refusals=$((refusals + $(jq -r '[.errors_by_status | to_entries[] | select(.key | test("^(http 503|http 429|grpc 14|grpc 8)( |$)")) | .value] | add // 0' "$WORK/$j.json")))
    other=$((other + $(jq -r '[.errors_by_status | to_entries[] | select(.key | test("^(http 503|http 429|grpc 14|grpc 8)( |$)") | not) | .value] | add // 0' "$WORK/$j.json")))
  done
  local offered accepted_rate
  offered=$(jq -r '(.requests + .errors) / .elapsed_seconds | floor' "$WORK/over.json")
  accepted_rate=$(jq -r '.requests / .elapsed_seconds | floor' "$WORK/over.json")
  # Acceptance after the burst: the last refusal (a /metrics sample whose refused counter grew, or a probe that was
  # refused) after the burst ended, in seconds after its end; every probe after it must be acknowledged.
  local last_metric last_probe recovery probes_after
  last_metric=$(awk -v e="$t_end" 'NR > 1 && $3 > r && $1 > e { last = $1 - e } { r = $3 } END { printf "%.2f", last + 0 }' "$WORK/metrics.tsv")
  last_probe=$(awk -v e="$t_end_rel" '$1 == "recover" && !(($3 == "http" && $4 == 200) || ($3 == "grpc" && $4 == 0)) { last = $2 - e } END { printf "%.2f", last + 0 }' "$WORK/probes.txt")
  recovery=$(awk -v a="$last_metric" -v b="$last_probe" 'BEGIN { printf "%.2f", (a > b ? a : b) }')
  probes_after=$(awk -v e="$t_end_rel" -v r="$recovery" '$1 == "recover" && $2 - e > r { n++ } END { print n + 0 }' "$WORK/probes.txt")
  local probe_acked missing_spans missing_traces peak bound_kb limiter_samples
  probe_acked=$(grep -c -E ' http 200 | grpc 0 ' "$WORK/probes.txt" || true)
  missing_traces=$(( ack_req - (STORED_TRACES - (PROBE_SPANS > 0 ? 1 : 0)) )); ((missing_traces < 0)) && missing_traces=0
  missing_spans=$(( ack_spans - (STORED_SPANS - PROBE_SPANS) ))
  ((probe_acked > 0 && PROBE_SPANS == 0)) && missing_spans=$((missing_spans + 1))
  ((missing_spans < 0)) && missing_spans=0
  peak=$(sort -n -k1,1 "$WORK/mem.tsv" | tail -1); bound_kb=$((LIMIT_MIB * 1024 * 12 / 10))
  limiter_samples=$(awk '$4 > 0 { n++ } END { print n + 0 }' "$WORK/metrics.tsv")

  echo
  echo "overload --fixed-rate: $PROTOCOL, tenant quota $quota req/s; over ${over_factor}x for $((over_s + burst_s)) s, burst ${burst_factor}x x $burst_spans spans for $burst_s s, recover ${recover_factor}x for $recover_s s; memory_limiter limit_mib $LIMIT_MIB spike_limit_mib $SPIKE_MIB check_interval $check"
  echo "load average (1/5/15 min): start $LOAD0, end $LOAD1 on $(nproc) CPUs"
  for j in over burst recover; do
    jq -r --arg j "$j" '"loadgen \($j): target \(.target_rate) req/s, offered \((.requests + .errors) / .elapsed_seconds | floor) req/s over \(.elapsed_seconds) s, acknowledged \(.requests) (\(.requests_per_second) req/s, \(.spans) spans), refused/failed \(.errors) \(.errors_by_status | tostring); p50 \(.latency_us.p50/1000) ms p99 \(.latency_us.p99/1000) ms"' "$WORK/$j.json"
  done
  echo "  probes (every 0.5 s, both protocols): $(awk '{ print $1, $3, $4, $5 }' "$WORK/probes.txt" | sort | uniq -c | awk '{ $1 = $1 "x"; print }' | paste -sd';' -)"
  echo "  memory_limiter refusing in $limiter_samples of $(wc -l <"$WORK/metrics.tsv") /metrics samples; peak VmRSS $(( $(cut -f1 <<<"$peak") / 1024 )) MiB (RssAnon $(( $(cut -f2 <<<"$peak") / 1024 )), RssFile $(( $(cut -f3 <<<"$peak") / 1024 )))"
  echo "  burst ended at ${t_end_rel} s; last refusal after it: /metrics ${last_metric} s, probes ${last_probe} s; probes after it: $probes_after, all acknowledged"
  printf '%-52s %16s %16s %s\n' check measured target verdict
  local ok_offer ok_codes ok_probe ok_rec ok_rss ok_lost ok_up
  ok_offer=$(( offered * 2 >= quota * 3 ? 1 : 0 ))
  ok_codes=$(( other == 0 && refusals > 0 ? 1 : 0 ))
  ok_probe=1; grep -Eq "$PROBE_NOT_RETRYABLE" "$WORK/probes.txt" && ok_probe=0
  ok_rec=$(awk -v r="$recovery" -v b="$bound" -v n="$probes_after" 'BEGIN { print (r <= b && n > 0) ? 1 : 0 }')
  ok_rss=$(( $(cut -f1 <<<"$peak") <= bound_kb ? 1 : 0 ))
  ok_lost=$(( missing_traces == 0 && missing_spans == 0 && QUERY_RC == 0 ? 1 : 0 ))
  ok_up=$(( STOP_RC == 0 || STOP_RC == 143 ? 1 : 0 ))
  v() { if [[ $1 == 1 ]]; then echo met; else echo MISSED; fi; }
  printf '%-52s %16s %16s %s\n' "offered over the quota (req/s, steady loadgen)" "$offered" ">= $((quota * 3 / 2))" "$( ((ok_offer)) && echo met || echo 'INCONCLUSIVE (client-bound)')"
  printf '%-52s %16s %16s %s\n' "acknowledged under steady overload (req/s)" "$accepted_rate" "~ $quota" ""
  printf '%-52s %16s %16s %s\n' "refusals seen by loadgen: retryable / other" "$refusals / $other" "> 0 / 0" "$(v "$ok_codes")"
  printf '%-52s %16s %16s %s\n' "probe refusals with Retry-After / RetryInfo" "$(grep -c -E ' http (503|429) retry-after=[0-9]| grpc (14|8) RetryInfo' "$WORK/probes.txt")/$(grep -c -E ' http (503|429) | grpc (14|8) ' "$WORK/probes.txt")" "all" "$(v "$ok_probe")"
  printf '%-52s %16s %16s %s\n' "last refusal after the burst (s)" "$recovery" "<= $bound" "$(v "$ok_rec")"
  printf '%-52s %16s %16s %s\n' "peak RSS (MiB)" "$(( $(cut -f1 <<<"$peak") / 1024 ))" "<= $((bound_kb / 1024))" "$(v "$ok_rss")"
  printf '%-52s %16s %16s %s\n' "acknowledged spans (loadgen) / stored (query exit $QUERY_RC)" "$ack_spans / $((STORED_SPANS - PROBE_SPANS))" "" ""
  printf '%-52s %16s %16s %s\n' "acknowledged traces / spans missing" "$missing_traces / $missing_spans" "0" "$(v "$ok_lost")"
  printf '%-52s %16s %16s %s\n' "clean SIGTERM exit" "$STOP_RC" "0 or 143" "$(v "$ok_up")"
  if ((ok_codes && ok_probe && ok_rec && ok_rss && ok_lost && ok_up)); then
    if ((ok_offer)); then echo PASS; exit 0; fi
    echo "INCONCLUSIVE: loadgen offered $offered req/s, not above the quota of $quota: lower QUOTA"; exit 3
  fi
  echo "FAIL: target missed (see the table)"
  exit 1
}

ensure_cli
pki_and_keys
probe_bodies "$WORK"
CURL_TLS=(--cacert "$WORK/pki/ca.crt" --cert "$WORK/pki/client.crt" --key "$WORK/pki/client.key" --max-time 10)
LOAD0=$(loadavg)
echo "machine: $(nproc) cores, $(uname -sr); load average at start $LOAD0"
if ((FIXED_RATE)); then fixed_rate_run; fi

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
rss_sampler "$COLLECTOR_PID" "$WORK/mem.tsv" split

say "overload: loadgen $PROTOCOL --rate $RATE (3 x $CAP_RPS req/s) for $DURATION, $CONNECTIONS connections x $CONCURRENCY streams"
loadgen_bg "$WORK/overload.json" --endpoint "https://127.0.0.1:$PORT" --protocol "$PROTOCOL" --duration "$DURATION" \
  --rate "$RATE" --connections "$CONNECTIONS" --concurrency "$CONCURRENCY"

# Probes: one minimal valid OTLP request (one span) per second over each protocol; record the answer.
: >"$WORK/probes.txt"
while kill -0 "$LOADGEN_PID" 2>/dev/null; do
  probe_once >>"$WORK/probes.txt"
  sleep 1
done
PROBE_ACKED=$(grep -c -E '^http 200 |^grpc 0 ' "$WORK/probes.txt" || true)
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
ok_probe=1; grep -Eq "$PROBE_NOT_RETRYABLE" "$WORK/probes.txt" && ok_probe=0
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
