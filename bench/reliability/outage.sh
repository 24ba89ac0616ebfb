#!/usr/bin/env bash
# Upstream outage and recovery through a forwarding collector, loopback, mTLS on every hop.
#
#   loadgen --(OTLP/HTTP, mTLS)--> EDGE collector: otlp exporter with a sealed sending queue
#                                  (sending_queue: directory + queue_key_file outside it)
#           --(OTLP/gRPC, mTLS)--> GATEWAY collector: sealed_store (durability fsync)
#
#  1. both collectors start (each with its own service.telemetry.metrics.address); loadgen http/protobuf at a
#     moderate fixed --rate RATE x SPANS spans for LOAD_SECONDS against the edge;
#  2. at DOWN_AT s the gateway is stopped with SIGTERM (graceful) or SIGKILL (--signal), kept down DOWN_FOR s
#     (the edge must keep acknowledging: it queues, its backlog grows), then started again on the same port
#     and the same store;
#  3. after loadgen ends: wait (bounded, DRAIN_TIMEOUT s) until the edge's traceseal_exporter_queue_backlog_bytes
#     is 0, SIGTERM the edge, then the gateway;
#  4. the gateway's store is read back with `traceseal query` (every object authenticated; a span stored twice is
#     shown once, so this counts distinct spans) and compared with loadgen's acknowledged spans. Duplicates (from
#     at-least-once replay) = distinct spans in a copy of the gateway's store taken while it was down (what its
#     first run stored) + spans its second run accepted (/metrics traceseal_receiver_items_accepted_total, read
#     after the drain) - spans acknowledged to loadgen.
#
# Once a second the edge's /metrics (backlog bytes; exporter items queued/sent/retried; receiver refusals) is
# recorded, so the outage window is visible: backlog grows while the gateway is down and drains afterwards.
#
# Targets: 0 acknowledged spans missing at the gateway; 0 client errors during the outage (as long as the backlog
# stays under max_backlog_bytes); the edge's backlog drains to 0 after recovery; duplicates are reported.
# Exit 1 when one is missed.
#
# Usage: bench/reliability/outage.sh [--signal TERM|KILL|both] [--duration 40s]
# Environment: RATE (200 req/s), SPANS (50 per request), DOWN_AT (10 s), DOWN_FOR (15 s), DRAIN_TIMEOUT (120 s),
#   MAX_BACKLOG (1GiB), RETRY_INITIAL (1s), RETRY_MAX (5s) (retry_on_failure of the edge's exporter),
#   CONNECTIONS (4), CONCURRENCY (4), NUM_CONSUMERS (10: the edge exporter's sending_queue::num_consumers, its
#   sender's requests in flight; 1 = the one-at-a-time drain of before); TS_CLI, RELI_PORT_BASE, RELI_KEEP as in lib.sh.
# Ports: RELI_PORT_BASE +17 gateway gRPC, +18 edge HTTP, +88 gateway self-telemetry, +89 edge self-telemetry.
# Bounded: 480 s in all (both variants).
RELI_MAX_SECONDS=480
source "$(dirname "$0")/lib.sh"

SIGNAL=TERM LOAD_SECONDS=40
while [[ $# -gt 0 ]]; do
  case "$1" in
    --signal) SIGNAL=${2^^}; shift ;;
    --duration) LOAD_SECONDS=${2%s}; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "outage.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
case "$SIGNAL" in TERM|KILL) VARIANTS=("$SIGNAL") ;; BOTH) VARIANTS=(TERM KILL) ;; *) echo "--signal TERM, KILL or both" >&2; exit 2 ;; esac
RATE=${RATE:-200} SPANS=${SPANS:-50} DOWN_AT=${DOWN_AT:-10} DOWN_FOR=${DOWN_FOR:-15} DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}
MAX_BACKLOG=${MAX_BACKLOG:-1GiB} RETRY_INITIAL=${RETRY_INITIAL:-1s} RETRY_MAX=${RETRY_MAX:-5s}
CONNECTIONS=${CONNECTIONS:-4} CONCURRENCY=${CONCURRENCY:-4} NUM_CONSUMERS=${NUM_CONSUMERS:-10}
if ((DOWN_AT + DOWN_FOR >= LOAD_SECONDS)); then echo "DOWN_AT + DOWN_FOR must end before the load does" >&2; exit 2; fi

GW_PORT=$GRPC_PORT EDGE_PORT=$HTTP_PORT GW_TEL=$TEL_PORT EDGE_TEL=$((PORT_BASE + 89))
ensure_cli
if port_open "$EDGE_TEL"; then echo "127.0.0.1:$EDGE_TEL is in use; set RELI_PORT_BASE" >&2; exit 1; fi
pki_and_keys
LOAD0=$(loadavg)
echo "machine: $(nproc) cores, $(uname -sr); load average at start $LOAD0"

# mval PORT PREFIX -> sum of the samples whose line starts with PREFIX (0 when absent or unreachable).
mval() {
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk -v m="$2" 'index($0, m) == 1 { s += $NF } END { printf "%.0f\n", s + 0 }'
}
EXP='traceseal_exporter_items_total{exporter="otlp/gateway",outcome='
edge_backlog() { mval "$EDGE_TEL" 'traceseal_exporter_queue_backlog_bytes{exporter="otlp/gateway"}'; }
gw_accepted() { mval "$GW_TEL" 'traceseal_receiver_items_accepted_total{receiver="otlp"'; }

write_gateway() { # FILE STORE
  cat >"$1" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GW_PORT
        tls: { cert_file: $WORK/pki/server.crt, key_file: $WORK/pki/server.key, client_ca_file: $WORK/pki/ca.crt }
exporters:
  sealed_store:
    directory: $2
    recipients: [$WORK/keys/reader.recipient.pem]
    durability: fsync
service:
  telemetry:
    metrics: { address: 127.0.0.1:$GW_TEL }
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [sealed_store]
EOF
}

write_edge() { # FILE QUEUE_DIR QUEUE_KEY
  cat >"$1" <<EOF
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$EDGE_PORT
        tls: { cert_file: $WORK/pki/server.crt, key_file: $WORK/pki/server.key, client_ca_file: $WORK/pki/ca.crt }
exporters:
  otlp/gateway:
    endpoint: localhost:$GW_PORT
    tls: { ca_file: $WORK/pki/ca.crt, cert_file: $WORK/pki/client.crt, key_file: $WORK/pki/client.key }
    retry_on_failure: { enabled: true, initial_interval: $RETRY_INITIAL, max_interval: $RETRY_MAX }
    sending_queue:
      directory: $2
      queue_key_file: $3
      max_backlog_bytes: $MAX_BACKLOG
      num_consumers: $NUM_CONSUMERS
service:
  telemetry:
    metrics: { address: 127.0.0.1:$EDGE_TEL }
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp/gateway]
EOF
}

# start_on TEL_PORT CONFIG LOG -> COLLECTOR_PID (lib.sh's start_collector waits for /readyz on TEL_PORT).
start_on() { local keep=$TEL_PORT; TEL_PORT=$1; start_collector "$2" "$3"; TEL_PORT=$keep; }
stop_pid() { COLLECTOR_PID=$1; stop_collector; } # SIGTERM, 30 s, SIGKILL; sets STOP_RC

ROWS=()
ALL_OK=1
run_variant() {
  local sig=$1 d="$WORK/$1"
  mkdir -p "$d"
  write_gateway "$d/gateway.yaml" "$d/gateway-data"
  write_edge "$d/edge.yaml" "$d/edge-queue" "$d/edge-queue.key"
  say "variant SIG$sig: gateway (gRPC :$GW_PORT, sealed_store fsync), edge (HTTP :$EDGE_PORT, otlp + sealed queue, num_consumers $NUM_CONSUMERS)"
  start_on "$GW_TEL" "$d/gateway.yaml" "$d/gateway-1.log"; local gw=$COLLECTOR_PID
  start_on "$EDGE_TEL" "$d/edge.yaml" "$d/edge.log"; local edge=$COLLECTOR_PID
  local load_start; load_start=$(loadavg)

  say "loadgen http/protobuf --rate $RATE x $SPANS spans for ${LOAD_SECONDS}s; gateway SIG$sig at ${DOWN_AT}s, down ${DOWN_FOR}s"
  loadgen_bg "$d/loadgen.json" --endpoint "https://127.0.0.1:$EDGE_PORT" --protocol http/protobuf \
    --duration "${LOAD_SECONDS}s" --rate "$RATE" --spans-per-request "$SPANS" \
    --connections "$CONNECTIONS" --concurrency "$CONCURRENCY"
  local t0=$SECONDS phase=up gw1_acc=0 gw_exit="" down_t=0 up_t=0 ready_s=0
  local refused_at_down=0 refused_at_up=0 peak_backlog=0 b
  local ref_m='traceseal_receiver_requests_total{receiver="otlp",protocol="http",outcome="refused"}'
  printf 't_s\tphase\tedge_backlog_bytes\tqueued\tsent\tretried\tedge_refused_requests\n' >"$d/timeline.tsv"
  while kill -0 "$LOADGEN_PID" 2>/dev/null; do
    local t=$((SECONDS - t0))
    if [[ $phase == up ]] && ((t >= DOWN_AT)); then
      gw1_acc=$(gw_accepted)
      refused_at_down=$(mval "$EDGE_TEL" "$ref_m")
      kill "-$sig" "$gw" 2>/dev/null || true
      for _ in $(seq 150); do kill -0 "$gw" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$gw" 2>/dev/null || true
      gw_exit=0; wait "$gw" 2>/dev/null || gw_exit=$?; forget "$gw"
      phase=down; down_t=$((SECONDS - t0))
      cp -a "$d/gateway-data" "$d/gateway-data-outage" # what the first run left (read after the run, not now)
      say "t=${down_t}s gateway stopped with SIG$sig (exit $gw_exit; it had accepted $gw1_acc spans)"
    elif [[ $phase == down ]] && ((t >= DOWN_AT + DOWN_FOR)); then
      refused_at_up=$(mval "$EDGE_TEL" "$ref_m")
      local r0=$SECONDS
      start_on "$GW_TEL" "$d/gateway.yaml" "$d/gateway-2.log"; gw=$COLLECTOR_PID
      ready_s=$((SECONDS - r0)); phase=recovered; up_t=$((SECONDS - t0))
      say "t=${up_t}s gateway restarted (ready after ${ready_s}s); edge backlog $(edge_backlog) bytes"
    fi
    b=$(edge_backlog); ((b > peak_backlog)) && peak_backlog=$b
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$phase" "$b" "$(mval "$EDGE_TEL" "${EXP}\"queued\"")" \
      "$(mval "$EDGE_TEL" "${EXP}\"sent\"")" "$(mval "$EDGE_TEL" "${EXP}\"retried\"")" "$(mval "$EDGE_TEL" "$ref_m")" >>"$d/timeline.tsv"
    sleep 1
  done
  wait_loadgen
  if [[ $phase != recovered ]]; then echo "loadgen ended before the gateway was restarted:" >&2; cat "$d/loadgen.json.err" >&2; ALL_OK=0; return 0; fi
  local load_end; load_end=$(loadavg)

  say "loadgen done; waiting (at most ${DRAIN_TIMEOUT}s) for the edge's backlog to reach 0"
  local dr0=$SECONDS drained=0 sent0
  sent0=$(mval "$EDGE_TEL" "${EXP}\"sent\"")
  while ((SECONDS - dr0 < DRAIN_TIMEOUT)); do
    b=$(edge_backlog)
    printf '%s\tdrain\t%s\t%s\t%s\t%s\t%s\n' "$((SECONDS - t0))" "$b" "$(mval "$EDGE_TEL" "${EXP}\"queued\"")" \
      "$(mval "$EDGE_TEL" "${EXP}\"sent\"")" "$(mval "$EDGE_TEL" "${EXP}\"retried\"")" "$(mval "$EDGE_TEL" "$ref_m")" >>"$d/timeline.tsv"
    if [[ $b == 0 ]]; then drained=1; break; fi
    sleep 0.5
  done
  local drain_s=$((SECONDS - dr0))
  local queued sent retried failed replayed edge_acc refused_total drain_rate
  queued=$(mval "$EDGE_TEL" "${EXP}\"queued\""); sent=$(mval "$EDGE_TEL" "${EXP}\"sent\"")
  drain_rate=$(( (sent - sent0) / (drain_s > 0 ? drain_s : 1) )) # spans/s forwarded after the load ended
  retried=$(mval "$EDGE_TEL" "${EXP}\"retried\""); failed=$(mval "$EDGE_TEL" "${EXP}\"failed\"")
  replayed=$(mval "$EDGE_TEL" "${EXP}\"replayed\""); refused_total=$(mval "$EDGE_TEL" "$ref_m")
  edge_acc=$(mval "$EDGE_TEL" 'traceseal_receiver_items_accepted_total{receiver="otlp"')
  local gw2_acc; gw2_acc=$(gw_accepted)
  stop_pid "$edge"; local edge_rc=$STOP_RC
  stop_pid "$gw"; local gw_rc=$STOP_RC

  read -r stored traces qrc _ < <(stored_counts "$d/gateway-data")
  local L="$d/loadgen.json" ack_req ack_spans errors
  ack_req=$(jq -r '.requests' "$L"); ack_spans=$(jq -r '.spans' "$L"); errors=$(jq -r '.errors' "$L")
  local missing=$((ack_spans - stored)); ((missing < 0)) && missing=0
  local missing_traces=$((ack_req - traces)); ((missing_traces < 0)) && missing_traces=0
  read -r s1 _ s1rc _ < <(stored_counts "$d/gateway-data-outage")
  local dup=$((s1 + gw2_acc - ack_spans))
  local outage_refused=$((refused_at_up - refused_at_down))
  local full_hit=0; grep -q 'queue full\|sending queue full' "$d/edge.log" && full_hit=1

  echo
  echo "variant SIG$sig: load average start $load_start, end of load $load_end"
  jq -r '"  loadgen: \(.requests + .errors) requests sent, \(.requests) acknowledged (\(.spans) spans, \(.spans_per_second|floor) spans/s), errors \(.errors) \(.errors_by_status|tostring); p50 \(.latency_us.p50/1000) ms, p99 \(.latency_us.p99/1000) ms"' "$L"
  echo "  gateway: SIG$sig at t=${down_t}s (exit $gw_exit), restarted at t=${up_t}s (ready in ${ready_s}s); first run: $gw1_acc spans accepted by the last /metrics read before the signal, $s1 distinct spans in its store (copy taken while down, query exit $s1rc); second run accepted $gw2_acc; final SIGTERM exit $gw_rc"
  echo "  edge: accepted $edge_acc spans; exporter queued $queued, sent $sent, retried $retried, failed $failed, replayed $replayed; peak backlog $peak_backlog bytes; backlog 0 after ${drain_s}s of drain: $([[ $drained == 1 ]] && echo yes || echo NO) ($((sent - sent0)) spans forwarded meanwhile, $drain_rate spans/s, num_consumers $NUM_CONSUMERS); refused requests $refused_total (during the outage $outage_refused); SIGTERM exit $edge_rc"
  echo "  timeline (t s, phase, backlog bytes, queued, sent, retried, refused):"
  awk -F'\t' 'NR > 1 && (NR % 5 == 2 || $2 != prev) { printf "    %s\n", $0 } { prev = $2 }' "$d/timeline.tsv" | tail -n 40
  v() { if [[ $1 == 1 ]]; then echo met; else echo MISSED; fi; }
  local ok_lost=$((missing == 0 && missing_traces == 0 && qrc == 0 && stored > 0 ? 1 : 0))
  local ok_err=$(( (errors == 0 && outage_refused == 0) || full_hit == 1 ? 1 : 0))
  local ok_drain=$drained
  local ok_grew=$((peak_backlog > 0 ? 1 : 0))
  local ok_stop=$(( (edge_rc == 0 || edge_rc == 143) && (gw_rc == 0 || gw_rc == 143) ? 1 : 0))
  printf '  %-52s %14s %14s %s\n' check measured target verdict
  printf '  %-52s %14s %14s %s\n' "acknowledged spans (loadgen)" "$ack_spans" "" ""
  printf '  %-52s %14s %14s %s\n' "distinct spans stored at the gateway (query exit $qrc)" "$stored" ">= ack" ""
  printf '  %-52s %14s %14s %s\n' "acknowledged traces / spans missing" "$missing_traces / $missing" "0" "$(v $ok_lost)"
  printf '  %-52s %14s %14s %s\n' "client errors (whole run) / edge refusals in outage" "$errors / $outage_refused" "0$([[ $full_hit == 1 ]] && echo ' (queue full hit)')" "$(v $ok_err)"
  printf '  %-52s %14s %14s %s\n' "edge backlog grew during the outage (peak bytes)" "$peak_backlog" "> 0" "$(v $ok_grew)"
  printf '  %-52s %14s %14s %s\n' "edge backlog back to 0 after recovery (s)" "$drain_s" "<= $DRAIN_TIMEOUT" "$(v $ok_drain)"
  printf '  %-52s %14s %14s %s\n' "duplicates (stored by run 1 + accepted by run 2 - ack)" "$dup" "reported" ""
  printf '  %-52s %14s %14s %s\n' "clean SIGTERM exits (edge / gateway)" "$edge_rc / $gw_rc" "0 or 143" "$(v $ok_stop)"
  ROWS+=("| \`bench/reliability/outage.sh --signal ${sig,,}\` | $load_start → $load_end | $ack_req req / $ack_spans spans, errors $errors | SIG$sig at ${down_t} s, back at ${up_t} s | $peak_backlog B | $outage_refused | ${drain_s} s ($drain_rate spans/s, num_consumers $NUM_CONSUMERS) | $stored / **$missing** | $dup |")
  if ! ((ok_lost && ok_err && ok_drain && ok_grew && ok_stop)); then ALL_OK=0; fi
}

for s in "${VARIANTS[@]}"; do run_variant "$s"; done
echo
echo "| command | load avg start → end | acknowledged (loadgen) | outage | peak edge backlog | edge refusals in outage | drain to 0 | stored / missing | duplicates |"
echo "|---|---|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
if ((ALL_OK)); then echo "PASS"; exit 0; fi
echo "FAIL: target missed (see the tables)"
exit 1
