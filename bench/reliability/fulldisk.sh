#!/usr/bin/env bash
# A full disk under the sealed store: refusals, the collector stays up, nothing acknowledged lost, recovery.
#
# The store directory is on a small tmpfs (`mount -t tmpfs -o size=SIZE`, needs root / CAP_SYS_ADMIN; without
# it the script prints SKIP and exits 0). Before the collector starts, a filler file of FILLER_MIB is written to
# the tmpfs. Then (sealed_store, durability fsync, wal::segment_bytes 4MiB, block::max_age 10s):
#   1. fill:    loadgen http/protobuf --rate FILL_RATE for FILL_SECONDS: the disk fills up part-way through; curl
#               probes over OTLP/HTTP and OTLP/gRPC once a second record what a client gets once it is full;
#   2. full:    the collector must still be alive (/healthz) and every refusal retryable (503 / UNAVAILABLE);
#   3. free:    the filler is deleted; loadgen again for RESUME_SECONDS: acknowledgements must resume;
#   4. restart: SIGTERM, start again on the same store (recovery must succeed: /readyz), SIGTERM;
#   5. read:    `traceseal query` (every object authenticated) must return every acknowledged trace, and
#               `traceseal verify data DIR` must pass.
# With --forwarder the same pipeline also has an `otlp/gateway` exporter (gRPC, mTLS, a sealed sending_queue on
# the tmpfs too) that reads the store's WAL (docs/format.md §14.11): its key headers and cursor are written on the
# full disk. It forwards to a GATEWAY collector (sealed_store on the normal disk, started first, stopped at the
# end). After the resume, the gateway is polled (bounded, FORWARD_TIMEOUT s) until it holds every acknowledged
# trace; after the restart it is stopped and read back too: 0 acknowledged traces/spans may be missing there.
# Exit 1 when a target is missed. This script changes nothing in the collector; what it finds is reported.
#
# Usage: bench/reliability/fulldisk.sh [--forwarder]   Environment: SIZE (32m), FILLER_MIB (8), FILL_RATE (200),
#   FILL_SECONDS (15), RESUME_SECONDS (5), RESUME_RATE (40: about 4 MiB of the 8 freed), FORWARD_TIMEOUT (90);
#   lib.sh: TS_CLI, RELI_PORT_BASE (+27 gateway gRPC, +98 gateway self-telemetry). Bounded: 300 s in all, 420 s with --forwarder.
FORWARDER=no
case "${1:-}" in --forwarder) FORWARDER=yes ;; -h|--help|"") ;; *) echo "fulldisk.sh: unknown argument $1" >&2; exit 2 ;; esac
RELI_MAX_SECONDS=300
[[ $FORWARDER == yes ]] && RELI_MAX_SECONDS=420
source "$(dirname "$0")/lib.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,25p' "$0"; exit 0; }

SIZE=${SIZE:-32m} FILLER_MIB=${FILLER_MIB:-8} FILL_RATE=${FILL_RATE:-200} FILL_SECONDS=${FILL_SECONDS:-15} RESUME_SECONDS=${RESUME_SECONDS:-5} RESUME_RATE=${RESUME_RATE:-40}
MNT=$WORK/disk
mkdir -p "$MNT"
if ! mount -t tmpfs -o "size=$SIZE,mode=0700" tmpfs "$MNT" 2>"$WORK/mount.err"; then
  echo "SKIP: cannot mount a tmpfs here ($(head -1 "$WORK/mount.err")); fulldisk.sh needs root or CAP_SYS_ADMIN"
  exit 0
fi
CLEANUP_HOOKS+=("umount -l '$MNT' 2>/dev/null")
ensure_cli
pki_and_keys
LOAD0=$(loadavg)
echo "machine: $(nproc) cores, $(uname -sr); load average at start $LOAD0"
dd if=/dev/zero of="$MNT/filler" bs=1M count="$FILLER_MIB" status=none
STORE=$MNT/store
avail() { df -k --output=avail "$MNT" | tail -1 | tr -d ' '; }
echo "tmpfs $SIZE at $MNT, filler $FILLER_MIB MiB, available $(( $(avail) / 1024 )) MiB"

GW_GRPC=$((PORT_BASE + 27)) GW_TEL=$((PORT_BASE + 98)) GW_STORE=$WORK/gateway-store FORWARD_TIMEOUT=${FORWARD_TIMEOUT:-90}
GATEWAY_PID="" FORWARDER_YAML=""
if [[ $FORWARDER == yes ]]; then
  for p in "$GW_GRPC" "$GW_TEL"; do
    if port_open "$p"; then echo "127.0.0.1:$p is in use; set RELI_PORT_BASE" >&2; exit 1; fi
  done
  cat >"$WORK/gateway.yaml" <<GATEWAY
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GW_GRPC
        tls: { cert_file: $WORK/pki/server.crt, key_file: $WORK/pki/server.key, client_ca_file: $WORK/pki/ca.crt }
exporters:
  sealed_store:
    directory: $GW_STORE
    recipients: [$WORK/keys/reader.recipient.pem]
    durability: fsync
service:
  telemetry:
    metrics: { address: 127.0.0.1:$GW_TEL }
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [sealed_store]
GATEWAY
  # start_collector waits on $TEL_PORT and sets COLLECTOR_PID: the gateway's, then back to the edge's.
  EDGE_TEL=$TEL_PORT TEL_PORT=$GW_TEL
  start_collector "$WORK/gateway.yaml" "$WORK/gateway.log"
  GATEWAY_PID=$COLLECTOR_PID TEL_PORT=$EDGE_TEL
  say "gateway ready on 127.0.0.1:$GW_GRPC (store $GW_STORE on the normal disk)"
  export PIPELINE_EXPORTERS="[sealed_store, otlp/gateway]"
  FORWARDER_YAML="
  otlp/gateway:
    endpoint: 127.0.0.1:$GW_GRPC
    tls: { ca_file: $WORK/pki/ca.crt, cert_file: $WORK/pki/client.crt, key_file: $WORK/pki/client.key }
    retry_on_failure: { initial_interval: 100ms, max_interval: 1s }
    sending_queue: { directory: $MNT/queue, queue_key_file: $WORK/keys/edge-queue.key }"
fi

write_config "$WORK/fulldisk.yaml" "$STORE" "" "    wal: { segment_bytes: 4MiB }
    block: { max_age: 10s }$FORWARDER_YAML"
start_collector "$WORK/fulldisk.yaml" "$WORK/collector.log"
COLLECTOR1=$COLLECTOR_PID

probe_bodies "$WORK"
CURL_TLS=(--cacert "$WORK/pki/ca.crt" --cert "$WORK/pki/client.crt" --key "$WORK/pki/client.key" --max-time 10)
probe() { # one OTLP/HTTP and one OTLP/gRPC probe; appends "PHASE http STATUS retry-after=X" / "PHASE grpc STATUS msg" lines
  local h status ra gs gm
  h=$(curl -s "${CURL_TLS[@]}" -o /dev/null -D - -H 'content-type: application/x-protobuf' \
      --data-binary @"$WORK/probe.pb" "https://127.0.0.1:$HTTP_PORT/v1/traces" 2>&1 | tr -d '\r') || true
  status=$(awk 'NR == 1 { print $2 }' <<<"$h"); ra=$(awk -F': ' 'tolower($1) == "retry-after" { print $2 }' <<<"$h")
  echo "$1 http ${status:-no-answer} retry-after=${ra:--}" >>"$WORK/probes.txt"
  [[ $status == 200 ]] && PROBE_ACKED=$((PROBE_ACKED + 1))
  h=$(curl -s "${CURL_TLS[@]}" --http2 -o /dev/null -D - -H 'content-type: application/grpc' -H 'te: trailers' \
      --data-binary @"$WORK/probe.grpc" "https://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.trace.v1.TraceService/Export" 2>&1 | tr -d '\r') || true
  gs=$(awk -F': ' '$1 == "grpc-status" { print $2 }' <<<"$h"); gm=$(awk -F': ' '$1 == "grpc-message" { print $2 }' <<<"$h")
  echo "$1 grpc ${gs:-no-answer} ${gm:+($gm)}" >>"$WORK/probes.txt"
  [[ $gs == 0 ]] && PROBE_ACKED=$((PROBE_ACKED + 1))
  return 0
}
PROBE_ACKED=0
: >"$WORK/probes.txt"

# ------------------------------------------------------------------ 1. fill
say "fill: loadgen http/protobuf --rate $FILL_RATE for ${FILL_SECONDS}s"
loadgen_bg "$WORK/fill.json" --endpoint "https://127.0.0.1:$HTTP_PORT" --protocol http/protobuf --duration "${FILL_SECONDS}s" --rate "$FILL_RATE"
FULL_AT="" FILL_START=$SECONDS
while kill -0 "$LOADGEN_PID" 2>/dev/null; do
  a=$(avail)
  [[ -z $FULL_AT && $a -lt 512 ]] && FULL_AT=$SECONDS
  if [[ -n $FULL_AT ]]; then probe full; fi
  sleep 1
done
wait_loadgen
# ------------------------------------------------------------------ 2. full
AVAIL_FULL=$(avail)
probe full
ALIVE_FULL=no
if kill -0 "$COLLECTOR_PID" 2>/dev/null && curl -sf "http://127.0.0.1:$TEL_PORT/healthz" >/dev/null; then ALIVE_FULL=yes; fi
READY_FULL=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TEL_PORT/readyz" || true)
say "full: available $AVAIL_FULL KiB, collector alive $ALIVE_FULL"

# ------------------------------------------------------------------ 3. free
rm -f "$MNT/filler"
AVAIL_FREED=$(avail)
say "freed the filler: available $((AVAIL_FREED / 1024)) MiB; loadgen again for ${RESUME_SECONDS}s"
sleep 1
probe freed
loadgen_bg "$WORK/resume.json" --endpoint "https://127.0.0.1:$HTTP_PORT" --protocol http/protobuf --duration "${RESUME_SECONDS}s" --rate "$RESUME_RATE"
wait_loadgen
probe freed
LOAD1=$(loadavg)
ACCEPTED_METRIC=$(metric 'traceseal_receiver_items_accepted_total{receiver="otlp"')
REFUSED_SINK=$(metric 'traceseal_receiver_refused_total{receiver="otlp",protocol="all",reason="sink_refused"}')
FAILED_SINK=$(metric 'traceseal_receiver_refused_total{receiver="otlp",protocol="all",reason="sink_failed"}')
ALIVE_END=no; kill -0 "$COLLECTOR_PID" 2>/dev/null && ALIVE_END=yes
if [[ $FORWARDER == yes ]]; then
  # The load has stopped: wait until the gateway holds as many traces as were acknowledged (+ the probe's).
  want=$(( $(jq -r '.requests' "$WORK/fill.json") + $(jq -r '.requests' "$WORK/resume.json") + (PROBE_ACKED > 0 ? 1 : 0) ))
  say "waiting (at most ${FORWARD_TIMEOUT}s) for the gateway to hold $want traces"
  FWD_START=$SECONDS GW_SEEN=0
  while ((SECONDS - FWD_START < FORWARD_TIMEOUT)); do
    read -r _ GW_SEEN _ _ < <(stored_counts "$GW_STORE")
    ((GW_SEEN >= want)) && break
    sleep 2
  done
  FORWARD_WAIT=$((SECONDS - FWD_START))
  FWD_SENT=$(metric 'otelcol_exporter_sent_spans{exporter="otlp/gateway"}')
  FWD_FAILED=$(metric 'otelcol_exporter_send_failed_spans{exporter="otlp/gateway"}')
  FWD_QUEUE=$(metric 'otelcol_exporter_queue_size{exporter="otlp/gateway"}')
  FWD_CAPACITY=$(metric 'otelcol_exporter_queue_capacity{exporter="otlp/gateway"}')
fi
stop_collector
STOP1=$STOP_RC

# ------------------------------------------------------------------ 4. restart on the same store
RESTART=no
if start_collector "$WORK/fulldisk.yaml" "$WORK/collector2.log"; then RESTART=yes; fi
kill -0 "$COLLECTOR_PID" 2>/dev/null && { stop_collector; STOP2=$STOP_RC; } || STOP2=none

GW_STOP=none
if [[ -n $GATEWAY_PID ]]; then
  EDGE_PID=$COLLECTOR_PID COLLECTOR_PID=$GATEWAY_PID
  stop_collector
  GW_STOP=$STOP_RC COLLECTOR_PID=$EDGE_PID
fi

# ------------------------------------------------------------------ 5. read back, verify
read -r STORED_SPANS STORED_TRACES QUERY_RC PROBE_SPANS < <(stored_counts "$STORE")
if [[ $FORWARDER == yes ]]; then read -r GW_SPANS GW_TRACES GW_QUERY_RC GW_PROBE_SPANS < <(stored_counts "$GW_STORE"); fi
VERIFY_RC=0
traceseal verify data "$STORE" >"$WORK/verify.txt" 2>&1 || VERIFY_RC=$?
USED=$(du -sk "$STORE" | cut -f1)

# ------------------------------------------------------------------ table
F=$WORK/fill.json R=$WORK/resume.json
ack_req=$(( $(jq -r '.requests' "$F") + $(jq -r '.requests' "$R") ))
ack_spans=$(( $(jq -r '.spans' "$F") + $(jq -r '.spans' "$R") ))
missing=$(( ack_req - (STORED_TRACES - (PROBE_SPANS > 0 ? 1 : 0)) )); ((missing < 0)) && missing=0
missing_spans=$(( ack_spans - (STORED_SPANS - PROBE_SPANS) )); ((missing_spans < 0)) && missing_spans=0
((PROBE_ACKED > 0 && PROBE_SPANS == 0)) && missing_spans=$((missing_spans + 1))
nonretry=$(jq -s -r '[.[].errors_by_status | to_entries[] | select(.key | test("^(http 503|grpc 14)( |$)") | not) | .value] | add // 0' "$F" "$R")
retry=$(jq -s -r '[.[].errors_by_status | to_entries[] | select(.key | test("^(http 503|grpc 14)( |$)")) | .value] | add // 0' "$F" "$R")
resumed=$(jq -r '.requests' "$R")

echo
echo "full disk$([[ $FORWARDER == yes ]] && echo ' with an otlp forwarder reading the WAL (gateway on the normal disk)'): tmpfs $SIZE, filler $FILLER_MIB MiB; load average (1/5/15 min): start $LOAD0, end $LOAD1 on $(nproc) CPUs"
jq -r '"fill   (--rate '"$FILL_RATE"', '"$FILL_SECONDS"'s): \(.requests) acknowledged, \(.errors) refused/failed \(.errors_by_status)"' "$F"
full_when="NOT reached"; [[ -n $FULL_AT ]] && full_when="after about $((FULL_AT - FILL_START)) s of the fill"
echo "        disk full (< 512 KiB available): $full_when; available at the end of the fill: $AVAIL_FULL KiB"
jq -r '"resume (--rate '"$RESUME_RATE"', '"$RESUME_SECONDS"'s, after freeing '"$FILLER_MIB"' MiB): \(.requests) acknowledged, \(.errors) refused/failed \(.errors_by_status)"' "$R"
echo "probes (OTLP/HTTP + gRPC, one span each):"
sort "$WORK/probes.txt" | uniq -c | sed 's/^/  /'
echo "collector: accepted items $ACCEPTED_METRIC, refused sink_refused $REFUSED_SINK, sink_failed $FAILED_SINK; /readyz while full: $READY_FULL; first SIGTERM exit $STOP1, restart ready: $RESTART (SIGTERM exit $STOP2)"
echo "collector log, storage warnings/errors (first 6 distinct):"
{ grep -h -E ' (warn|fail|crit|error):' "$WORK/collector.log" "$WORK/collector2.log" 2>/dev/null || true; } \
  | sed -E 's/^[0-9TZ:.-]+ //; s/[0-9]+ request\(s\)/N request(s)/; s#(/[^ ]*)+/(wal|blocks)/#.../\2/#g; s#[0-9]+-[0-9a-f]+\.(wal|walseg)#SEQ-ID.\1#g; s#at [0-9]+;#at N;#; s#[0-9]+ byte\(s\)#N byte(s)#' | cut -c1-200 | sort | uniq -c | sort -rn >"$WORK/logsummary.txt" || true
head -6 "$WORK/logsummary.txt" | sed 's/^/  /'
echo "  ($(grep -c 'writing the WAL failed' "$WORK/collector.log" || true) 'writing the WAL failed' lines at fail level, each with its exception, in the first run's log)"
echo "store after the run: $((${USED:-0} / 1024)) MiB; files by extension: $(find "$STORE" -type f | sed 's/.*\.//' | sort | uniq -c | awk '{ printf "%s %s; ", $1, $2 }' || true)"
echo "verify data: exit $VERIFY_RC: $(tail -3 "$WORK/verify.txt" | paste -sd' ' - | cut -c1-240)"
printf '%-46s %14s %12s %s\n' check measured target verdict
chk() { if [[ $1 == 1 ]]; then echo met; else echo MISSED; fi; }
printf '%-46s %14s %12s %s\n' "retryable refusals while full (503/UNAVAILABLE)" "$retry" "> 0" "$(chk $((retry > 0)))"
printf '%-46s %14s %12s %s\n' "non-retryable errors / resets seen by loadgen" "$nonretry" 0 "$(chk $((nonretry == 0)))"
probe_bad=$(grep '^full' "$WORK/probes.txt" | grep -v -c -E 'http (200|503) |grpc (0|14) ' || true)
printf '%-46s %14s %12s %s\n' "probes while full: not 200/503/0/14" "$probe_bad" 0 "$(chk $((probe_bad == 0)))"
printf '%-46s %14s %12s %s\n' "collector alive while full / at the end" "$ALIVE_FULL/$ALIVE_END" "yes/yes" "$(chk $([[ $ALIVE_FULL == yes && $ALIVE_END == yes ]] && echo 1 || echo 0))"
printf '%-46s %14s %12s %s\n' "ingest resumed after freeing space (acks)" "$resumed" "> 0" "$(chk $((resumed > 0)))"
printf '%-46s %14s %12s %s\n' "restart on the same store ready" "$RESTART" yes "$(chk $([[ $RESTART == yes ]] && echo 1 || echo 0))"
printf '%-46s %14s %12s %s\n' "acknowledged requests (loadgen) / stored" "$ack_req/$((STORED_TRACES - (PROBE_SPANS > 0 ? 1 : 0)))" "" ""
printf '%-46s %14s %12s %s\n' "acknowledged traces / spans missing (query $QUERY_RC)" "$missing/$missing_spans" "0/0" "$(chk $((missing == 0 && missing_spans == 0 && QUERY_RC == 0)))"
printf '%-46s %14s %12s %s\n' "traceseal verify data" "exit $VERIFY_RC" "exit 0" "$(chk $((VERIFY_RC == 0)))"
gw_ok=1
if [[ $FORWARDER == yes ]]; then
  gw_missing=$(( ack_req - (GW_TRACES - (GW_PROBE_SPANS > 0 ? 1 : 0)) )); ((gw_missing < 0)) && gw_missing=0
  gw_missing_spans=$(( ack_spans - (GW_SPANS - GW_PROBE_SPANS) )); ((gw_missing_spans < 0)) && gw_missing_spans=0
  ((PROBE_ACKED > 0 && GW_PROBE_SPANS == 0)) && gw_missing_spans=$((gw_missing_spans + 1))
  gw_ok=$((gw_missing == 0 && gw_missing_spans == 0 && GW_QUERY_RC == 0 ? 1 : 0))
  printf '%-46s %14s %12s %s\n' "acknowledged requests / at the gateway" "$ack_req/$((GW_TRACES - (GW_PROBE_SPANS > 0 ? 1 : 0)))" "" ""
  printf '%-46s %14s %12s %s\n' "at the gateway: traces / spans missing (query $GW_QUERY_RC)" "$gw_missing/$gw_missing_spans" "0/0" "$(chk $gw_ok)"
  echo "forwarder otlp/gateway (reads the store's WAL): sent spans $FWD_SENT, send failed $FWD_FAILED, queue size/capacity after the resume $FWD_QUEUE/$FWD_CAPACITY bytes;" \
       "the gateway held every acknowledged trace ${FORWARD_WAIT}s after the load (timeout ${FORWARD_TIMEOUT}s); gateway SIGTERM exit $GW_STOP"
  echo "the forwarder's files on the tmpfs at the end: $(find "$STORE/wal" "$MNT/queue" -type f 2>/dev/null | sed 's/.*\.//' | sort | uniq -c | awk '{ printf "%s %s; ", $1, $2 }' || true)"
  echo "gateway log, warnings/errors (first 4 distinct):"
  { grep -h -E ' (warn|fail|crit|error):' "$WORK/gateway.log" 2>/dev/null || true; } | sed -E 's/^[0-9TZ:.-]+ //' | cut -c1-200 | sort | uniq -c | sort -rn | head -4 | sed 's/^/  /'
fi
if ((retry > 0 && nonretry == 0 && probe_bad == 0 && resumed > 0 && missing == 0 && missing_spans == 0 && QUERY_RC == 0 && VERIFY_RC == 0 && gw_ok == 1)) \
   && [[ $ALIVE_FULL == yes && $ALIVE_END == yes && $RESTART == yes ]]; then echo PASS; exit 0; fi
echo "FAIL: target missed (see the table)"
exit 1
