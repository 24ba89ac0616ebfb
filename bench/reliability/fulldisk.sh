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
# Exit 1 when a target is missed. This script changes nothing in the collector; what it finds is reported.
#
# Usage: bench/reliability/fulldisk.sh   Environment: SIZE (32m), FILLER_MIB (8), FILL_RATE (200),
#   FILL_SECONDS (15), RESUME_SECONDS (5), RESUME_RATE (40: about 4 MiB of the 8 freed); lib.sh: TS_CLI, RELI_PORT_BASE. Bounded: 300 s in all.
RELI_MAX_SECONDS=300
source "$(dirname "$0")/lib.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,17p' "$0"; exit 0; }

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

write_config "$WORK/fulldisk.yaml" "$STORE" "" "    wal: { segment_bytes: 4MiB }
    block: { max_age: 10s }"
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
stop_collector
STOP1=$STOP_RC

# ------------------------------------------------------------------ 4. restart on the same store
RESTART=no
if start_collector "$WORK/fulldisk.yaml" "$WORK/collector2.log"; then RESTART=yes; fi
kill -0 "$COLLECTOR_PID" 2>/dev/null && { stop_collector; STOP2=$STOP_RC; } || STOP2=none

# ------------------------------------------------------------------ 5. read back, verify
read -r STORED_SPANS STORED_TRACES QUERY_RC PROBE_SPANS < <(stored_counts "$STORE")
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
echo "full disk: tmpfs $SIZE, filler $FILLER_MIB MiB; load average (1/5/15 min): start $LOAD0, end $LOAD1 on $(nproc) CPUs"
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
if ((retry > 0 && nonretry == 0 && probe_bad == 0 && resumed > 0 && missing == 0 && missing_spans == 0 && QUERY_RC == 0 && VERIFY_RC == 0)) \
   && [[ $ALIVE_FULL == yes && $ALIVE_END == yes && $RESTART == yes ]]; then echo PASS; exit 0; fi
echo "FAIL: target missed (see the table)"
exit 1
