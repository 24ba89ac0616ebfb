#!/usr/bin/env bash
# bench/serve.sh — trace-by-id and search latency through `traceseal serve` (issue 11).
#
#   bench/serve.sh [--spans-total 1000000] [--spans 100] [--reps 20] [--store DIR --identity FILE]
#
# Without --store: a fresh filesystem store behind `traceseal collector` (mTLS on 127.0.0.1, sealed_store with fsync'd
# acks), filled by `traceseal loadgen` (gRPC, --spans spans per request) in 20 s rounds until --spans-total, plus 5
# traces with known ids (service bench-known) sent with curl. Then `traceseal serve` on it, and with curl (Bearer token):
#   by-id cold   the first GET /api/traces/{id} (the reader's index cache is empty)
#   by-id warm   p50 / p90 of --reps GETs of the known ids after that
#   search       p50 of --reps GET /api/search?tags=service.name=bench-known (whole traces, two passes)
#   search all   p50 of GET /api/search?limit=20 with no filter (reads every record)
# Everything listens on 127.0.0.1; bounded by BENCH_MAX_SECONDS (default 1800); children are killed on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z "${TS_BENCH_BOUNDED:-}" ]]; then
  export TS_BENCH_BOUNDED=1
  exec timeout --signal=TERM --kill-after=15 "${BENCH_MAX_SECONDS:-1800}" "$0" "$@"
fi
TOTAL=1000000 SPANS=100 REPS=20 STORE="" IDENTITY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --spans-total) TOTAL=$2; shift 2 ;;
    --spans) SPANS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --store) STORE=$2; shift 2 ;;
    --identity) IDENTITY=$2; shift 2 ;;
    *) echo "usage: $0 [--spans-total N] [--spans N] [--reps N] [--store DIR --identity FILE]" >&2; exit 2 ;;
  esac
done
OUT=${BENCH_OUT:-/tmp/ts-serve-bench}
mkdir -p "$OUT"
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done' EXIT
dotnet build "$ROOT/src/TraceSeal.Cli" -c Release -v quiet -nologo >/dev/null
ts() { dotnet "$ROOT/src/TraceSeal.Cli/bin/Release/net10.0/traceseal.dll" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100+0.5); if (i<1) i=1; printf "%.1f", a[i]}'; }
KNOWN=(5eed0000000000000000000000000001 5eed0000000000000000000000000002 5eed0000000000000000000000000003 5eed0000000000000000000000000004 5eed0000000000000000000000000005)

if [[ -z "$STORE" ]]; then
  d="$OUT/store"; rm -rf "$d"; mkdir -p "$d"
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
service:
  telemetry: {metrics: {address: "127.0.0.1:$mp"}}
  pipelines:
    traces: {receivers: [otlp], exporters: [sealed_store]}
YAML
  (cd "$d" && exec dotnet "$ROOT/src/TraceSeal.Cli/bin/Release/net10.0/traceseal.dll" collector --config collector.yaml) >"$d/collector.log" 2>&1 &
  cpid=$!; PIDS+=("$cpid")
  for _ in $(seq 240); do grep -q 'collector started' "$d/collector.log" 2>/dev/null && break; kill -0 "$cpid" || { cat "$d/collector.log" >&2; exit 1; }; sleep 0.5; done
  now=$(date +%s%N)
  for id in "${KNOWN[@]}"; do
    curl -sf --cacert "$d/certs/ca.crt" --cert "$d/certs/client.crt" --key "$d/certs/client.key" -H 'Content-Type: application/json' \
      "https://127.0.0.1:$hp/v1/traces" -d "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"bench-known\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":\"$id\",\"spanId\":\"0000000000000001\",\"name\":\"known\",\"kind\":2,\"startTimeUnixNano\":\"$now\",\"endTimeUnixNano\":\"$((now + 5000000))\"}]}]}]}" >/dev/null
  done
  sent=0
  while (( sent < TOTAL )); do
    n=$(ts loadgen --endpoint "https://127.0.0.1:$gp" --protocol grpc --ca "$d/certs/ca.crt" --cert "$d/certs/client.crt" --key "$d/certs/client.key" \
          --duration 20s --spans-per-request "$SPANS" --connections 2 --json --quiet | jq -r .spans)
    sent=$((sent + n)); echo "  $sent spans stored" >&2
  done
  kill -TERM "$cpid"; wait "$cpid" || true   # drains and cuts the last block
  STORE="$d/data"; IDENTITY="$d/keys/reader.identity.pem"
fi

port=$(free_port)
dotnet "$ROOT/src/TraceSeal.Cli/bin/Release/net10.0/traceseal.dll" serve --store "$STORE" --identity "$IDENTITY" --listen "127.0.0.1:$port" >"$OUT/serve.out" 2>"$OUT/serve.log" &
PIDS+=("$!")
for _ in $(seq 240); do grep -q 'token=' "$OUT/serve.out" 2>/dev/null && break; sleep 0.5; done
token=$(grep -o 'token=[^ &]*' "$OUT/serve.out" | head -1 | cut -d= -f2)
get() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $token" "http://127.0.0.1:$port$1"; }
ms() { awk '{ if ($1 != 200) { print "HTTP " $1 > "/dev/stderr"; exit 1 } printf "%.1f\n", $2 * 1000 }'; }
objects=$(find "$STORE" -type f | wc -l)
cold=$(get "/api/traces/${KNOWN[0]}" | ms)
warm=$(for _ in $(seq "$REPS"); do for id in "${KNOWN[@]}"; do get "/api/traces/$id"; done; done | ms)
search=$(for _ in $(seq "$REPS"); do get "/api/search?tags=service.name%3Dbench-known&limit=20"; done | ms)
all=$(for _ in $(seq 3); do get "/api/search?limit=20"; done | ms)
rss=$(ps -o rss= -p "${PIDS[-1]}" | awk '{printf "%.0f", $1/1024}')
echo "# bench/serve.sh $(date -u +%FT%TZ) store=$STORE objects=$objects spans>=$TOTAL reps=$REPS loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "by-id cold ms: $cold"
echo "by-id warm ms: p50 $(echo "$warm" | pct 50)  p90 $(echo "$warm" | pct 90)"
echo "search (service=bench-known) ms: p50 $(echo "$search" | pct 50)  p90 $(echo "$search" | pct 90)"
echo "search (no filter, limit 20) ms: p50 $(echo "$all" | pct 50)"
echo "serve RSS MiB after: $rss"
