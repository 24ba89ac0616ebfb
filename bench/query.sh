#!/usr/bin/env bash
# bench/query.sh — do lookups grow with the store? (issue 12)
#
#   bench/query.sh [--sizes 1000000,10000000] [--block-bytes 4MiB] [--spans 100] [--connections 2] [--reps 5]
#                  [--rate 2000] [--cli PATH/traceseal.dll] [--keep]
#
# For each size: a fresh filesystem store behind `traceseal collector` (mTLS on 127.0.0.1, sealed_store with
# fsync'd acknowledgements, block::max_bytes --block-bytes so the store holds many blocks, as hours of production
# at block::max_age cuts do), filled with `traceseal loadgen` (gRPC, --spans spans per request, one trace per request)
# at --rate requests/s (default 2000, i.e. 200k spans/s; 0 = flat out), in rounds of at most 20 s sized to what is
# still missing, so a store holds about the size asked (a flat-out round on a quiet machine stores ~6M spans), until
# the size is reached, plus 5 traces with known ids (service bench-known) sent over OTLP/HTTP
# with curl before and after the load. The collector is stopped before anything is measured (no live WAL is read).
# Then, before and after `traceseal compact`:
#   objects   files under data/blocks
#   cold      `traceseal query --trace-id` from a fresh process: hyperfine, --reps runs after one warm-up (the
#             file cache is warm, the process is not), median and min-max; CLI start-up included. The CLI is the
#             ReadyToRun publish of src/TraceSeal.Cli (`dotnet publish -r linux-x64`, README) unless --cli is given
#   warm      the same lookups through one long-lived StoreReader with its index cache (bench/QueryBench, what
#             `serve` holds), p50 over --reps rounds of the 5 ids after a first round
#   search    `traceseal query --service bench-known --since 1h` from a fresh process (hyperfine as cold)
#   wsearch   the same search warm through QueryBench's reader (serve's whole-trace search), p50 of --reps;
#             nofilter: a search with no filter at all (limit 20), warm, p50
#   startup   the same CLI doing nothing but read a key file (its .NET start-up), hyperfine median
# and the growth ratio largest/smallest size, with the load average before each measurement. Everything listens on
# 127.0.0.1; the run is bounded (BENCH_MAX_SECONDS, default 3600) and every child is killed on exit. Stores and raw
# output stay in BENCH_OUT (default /tmp/ts-query-bench) with --keep, else the stores are deleted at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAX_SECONDS=${BENCH_MAX_SECONDS:-3600}
if [[ -z "${TS_BENCH_BOUNDED:-}" ]]; then
  export TS_BENCH_BOUNDED=1
  exec timeout --signal=TERM --kill-after=15 "$MAX_SECONDS" "$0" "$@"
fi

SIZES=1000000,10000000 BLOCK_BYTES=4MiB SPANS=100 CONNECTIONS=2 REPS=5 RATE=2000 CLI_DLL="" KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --block-bytes) BLOCK_BYTES=$2; shift 2 ;;
    --spans) SPANS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --cli) CLI_DLL=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--sizes N,N] [--block-bytes 4MiB] [--spans N] [--connections N] [--reps N] [--cli traceseal.dll] [--keep]" >&2; exit 2 ;;
  esac
done

OUT=${BENCH_OUT:-/tmp/ts-query-bench}
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  if [[ $KEEP -eq 0 ]]; then rm -rf "$OUT"/store-*; fi
}
trap cleanup EXIT

command -v hyperfine >/dev/null || { echo "bench/query.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
if [[ -z "$CLI_DLL" ]]; then
  dotnet publish "$ROOT/src/TraceSeal.Cli" -c Release -r linux-x64 -o "$OUT/cli" -v quiet -nologo >/dev/null
  CLI_DLL="$OUT/cli/traceseal.dll"
fi
dotnet build "$ROOT/bench/QueryBench" -c Release -v quiet -nologo >/dev/null
QB="$ROOT/bench/QueryBench/bin/Release/net10.0/QueryBench.dll"
ts() { dotnet "$CLI_DLL" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# hf CMD ARGS...: "median/min/max" in ms of --reps fresh runs (hyperfine without a shell; one warm-up run; exit codes ignored).
hf() {
  hyperfine -N -i --warmup 1 --runs "$REPS" --export-json "$OUT/hf.json" "$(printf '%q ' "$@")" >/dev/null 2>&1
  jq -r '.results[0] | [.median, .min, .max] | map(. * 1000 | round | tostring) | join("/")' "$OUT/hf.json"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
KNOWN=(5eed0000000000000000000000000001 5eed0000000000000000000000000002 5eed0000000000000000000000000003 5eed0000000000000000000000000004 5eed0000000000000000000000000005)

send_known() {  # $1 = http port, $2 = dir
  local now; now=$(date +%s%N)
  for id in "${KNOWN[@]}"; do
    curl -sf --cacert "$2/certs/ca.crt" --cert "$2/certs/client.crt" --key "$2/certs/client.key" \
      -H 'Content-Type: application/json' "https://127.0.0.1:$1/v1/traces" -d @- >/dev/null <<JSON
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bench-known"}}]},
 "scopeSpans":[{"scope":{"name":"bench"},"spans":[{"traceId":"$id","spanId":"00000000000000$(printf %02x $RANDOM | cut -c1-2)",
 "name":"known","kind":2,"startTimeUnixNano":"$now","endTimeUnixNano":"$((now + 5000000))"}]}]}]}
JSON
  done
}

measure() {  # $1 = dir, $2 = label → prints "label objects cold warm search wsearch nofilter startup load" (hf fields are median/min/max)
  local d=$1 objects cold warm search qb startup load
  objects=$(find "$d/data/blocks" -type f | wc -l)
  load=$(load1)
  cold=$(hf dotnet "$CLI_DLL" query --store "$d/data" --identity "$d/keys/reader.identity.pem" --trace-id "${KNOWN[2]}" --format json)
  qb=$(dotnet "$QB" "$d/data" "$d/keys/reader.identity.pem" "$REPS" "${KNOWN[@]}" | tee -a "$OUT/raw.txt")
  warm=$(jq -r .warm_p50_ms <<<"$qb")
  search=$(hf dotnet "$CLI_DLL" query --store "$d/data" --identity "$d/keys/reader.identity.pem" --service bench-known --since 1h --format json)
  startup=$(hf dotnet "$CLI_DLL" keys inspect "$d/keys/reader.recipient.pem")
  echo "$2 $objects $cold $warm $search $(jq -r .search_p50_ms <<<"$qb") $(jq -r .nofilter_p50_ms <<<"$qb") ${startup%%/*} $load"
}

echo "# bench/query.sh $(date -u +%FT%TZ) sizes=$SIZES block_bytes=$BLOCK_BYTES spans/request=$SPANS loadavg: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/raw.txt"
ROWS=()
for size in ${SIZES//,/ }; do
  d="$OUT/store-$size"; rm -rf "$d"; mkdir -p "$d"
  ts certs init --out "$d/certs" --hosts 127.0.0.1,localhost >/dev/null
  ts keys init --name reader --out "$d/keys" >/dev/null
  gp=$(free_port); hp=$(free_port); mp=$(free_port)
  cat > "$d/collector.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:$gp", tls: {cert_file: certs/server.crt, key_file: certs/server.key, client_ca_file: certs/ca.crt}}
      http: {endpoint: "127.0.0.1:$hp", tls: {cert_file: certs/server.crt, key_file: certs/server.key, client_ca_file: certs/ca.crt}}
exporters:
  sealed_store:
    directory: data
    recipients: [keys/reader.recipient.pem]
    block: {max_bytes: $BLOCK_BYTES, max_age: 5m}
service:
  telemetry: {metrics: {address: "127.0.0.1:$mp"}}
  pipelines:
    traces: {receivers: [otlp], exporters: [sealed_store]}
YAML
  dotnet "$CLI_DLL" collector --config "$d/collector.yaml" >"$d/collector.log" 2>&1 &   # not through ts(): $! must be dotnet
  cpid=$!; PIDS+=("$cpid")
  for _ in $(seq 240); do grep -q 'collector started' "$d/collector.log" 2>/dev/null && break; kill -0 "$cpid" || { cat "$d/collector.log" >&2; exit 1; }; sleep 0.5; done
  send_known "$hp" "$d"
  sent=0 start=$(date +%s)
  while (( sent < size )); do
    round=20
    if (( RATE > 0 )); then
      round=$(( (size - sent + RATE * SPANS - 1) / (RATE * SPANS) )); (( round > 20 )) && round=20; (( round < 1 )) && round=1
    fi
    n=$(ts loadgen --endpoint "https://127.0.0.1:$gp" --protocol grpc --ca "$d/certs/ca.crt" --cert "$d/certs/client.crt" --key "$d/certs/client.key" \
          --duration "${round}s" --rate "$RATE" --spans-per-request "$SPANS" --connections "$CONNECTIONS" --json --quiet | jq -r .spans)
    sent=$((sent + n))
    echo "  $size: $sent spans stored ($(( $(date +%s) - start )) s)" >&2
  done
  send_known "$hp" "$d"
  ingest_s=$(( $(date +%s) - start ))
  kill -TERM "$cpid"; wait "$cpid" || true
  echo "size $size: $sent spans in $ingest_s s" | tee -a "$OUT/raw.txt"
  before=$(measure "$d" before)
  cs=$(date +%s%N)
  ts compact --store "$d/data" --identity "$d/keys/reader.identity.pem" --recipient "$d/keys/reader.recipient.pem" --min-age 0s | tee -a "$OUT/raw.txt" | tail -1 >&2
  compact_ms=$(( ($(date +%s%N) - cs) / 1000000 ))
  after=$(measure "$d" after)
  ROWS+=("$sent $before $after $compact_ms")
  echo "$sent $before $after compact_ms=$compact_ms" >> "$OUT/raw.txt"
done

echo
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cold, search: whole CLI runs, median/min/max ms of $REPS (hyperfine); warm, wsearch (serve's whole-trace search by service, 1 h)"
echo "and nofilter (no filter, limit 20): one long-lived reader, p50 ms; startup: the CLI reading a key file; load: 1-min load average"
printf '%-10s | %-13s | %-25s | %-19s | %-25s | %-17s | %-17s | %-7s | %-9s | %s\n' spans "objects" "cold bef → aft" "warm bef → aft" "search bef → aft" "wsearch bef → aft" "nofilter bef → aft" startup compact "load bef/aft"
for row in "${ROWS[@]}"; do
  read -r n _ ob cb wb sb wsb nfb st lb _ oa ca wa sa wsa nfa _ la cms <<<"$row"
  printf '%-10s | %5s → %-5s | %11s → %-11s | %7s → %-9s | %11s → %-11s | %6s → %-8s | %6s → %-8s | %4s ms | %6s ms | %s/%s\n' \
    "$n" "$ob" "$oa" "$cb" "$ca" "$wb" "$wa" "$sb" "$sa" "$wsb" "$wsa" "$nfb" "$nfa" "$st" "$cms" "$lb" "$la"
done
if [[ ${#ROWS[@]} -ge 2 ]]; then
  read -r n1 _ _ _ _ _ _ _ _ _ _ _ c1 w1 s1 ws1 nf1 _ _ _ <<<"${ROWS[0]}"
  read -r n2 _ _ _ _ _ _ _ _ _ _ _ c2 w2 s2 ws2 nf2 _ _ _ <<<"${ROWS[${#ROWS[@]}-1]}"
  ratio() { jq -n "(\"$2\" | split(\"/\")[0] | tonumber) / (\"$1\" | split(\"/\")[0] | tonumber) * 100 | round / 100"; }
  echo "growth ${n2}/${n1} spans (after compaction, medians): cold $(ratio "$c1" "$c2")x, warm $(ratio "$w1" "$w2")x, search $(ratio "$s1" "$s2")x, wsearch $(ratio "$ws1" "$ws2")x, nofilter $(ratio "$nf1" "$nf2")x"
fi
