#!/usr/bin/env bash
# bench/run.sh — side-by-side ingest benchmark over mutual TLS on loopback, plus micro-benchmarks.
#
#   bench/run.sh [--quick] [--duration 10s] [--spans 100] [--connections 4] [--concurrency 4]
#                [--cli PATH/traceseal.dll] [--skip-load] [--skip-micro]
#
# From a fresh clone: builds Release, installs nginx and jq with apt-get if missing, creates a dev PKI with
# `traceseal certs init`, then, with the server pinned to CPU 0 and the load generator to CPU 1 (taskset):
#   (a) nginx, mTLS (ssl_verify_client on), HTTP/2, one worker, answering 200 to POST /v1/traces: the
#       TLS-termination ceiling of this machine;
#   (b) TraceSeal with the discard exporter (gRPC and HTTP/protobuf);
#   (c) TraceSeal with sealed_store and fsync'd acknowledgements, if this build starts it.
# Then `openssl speed -evp aes-256-gcm` next to the BenchmarkDotNet micro-benchmarks (--quick: ShortRun).
#
# Everything listens on 127.0.0.1 only. The whole run is bounded (BENCH_MAX_SECONDS, default 1800) and every
# child is killed on exit, Ctrl-C or timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAX_SECONDS=${BENCH_MAX_SECONDS:-1800}

# Bound the whole script: re-run it under timeout(1), which sends TERM (our trap cleans up) and then KILL.
if [[ -z "${TS_BENCH_BOUNDED:-}" ]]; then
  export TS_BENCH_BOUNDED=1
  exec timeout --signal=TERM --kill-after=15 "$MAX_SECONDS" "$0" "$@"
fi

QUICK=0 DURATION=10s SPANS=100 CONNECTIONS=4 CONCURRENCY=4 CLI_DLL="" SKIP_LOAD=0 SKIP_MICRO=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --duration) DURATION=$2; shift ;;
    --spans) SPANS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --concurrency) CONCURRENCY=$2; shift ;;
    --cli) CLI_DLL=$2; shift ;;
    --skip-load) SKIP_LOAD=1 ;;
    --skip-micro) SKIP_MICRO=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

ART=${TS_ARTIFACTS:-/tmp/ts-bench-artifacts}
PORT_BASE=${BENCH_PORT_BASE:-39400}
NGINX_PORT=$((PORT_BASE + 43)) GRPC_PORT=$((PORT_BASE + 17)) HTTP_PORT=$((PORT_BASE + 18))
WORK=$(mktemp -d /tmp/ts-bench.XXXXXX)
CHILDREN=()

cleanup() {
  local pid
  for pid in "${CHILDREN[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${CHILDREN[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "run.sh: stopped" >&2; exit 130' INT TERM

say() { printf '== %s\n' "$*" >&2; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

install_missing() {
  local missing=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v jq >/dev/null || missing+=(jq)
  command -v taskset >/dev/null || missing+=(util-linux)
  command -v openssl >/dev/null || missing+=(openssl)
  [[ ${#missing[@]} -eq 0 ]] && return
  say "installing ${missing[*]} with apt-get"
  # Keep the package's own service (port 80) from starting: we run nginx ourselves, on loopback only.
  local policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    policy=1
  fi
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [[ $policy -eq 1 ]] && as_root rm -f /usr/sbin/policy-rc.d
  return 0
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT PID SECONDS: 0 when PORT accepts connections; 1 if PID exited or time ran out.
wait_port() {
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$2" 2>/dev/null || return 1
    port_open "$1" && return 0
    sleep 0.2
  done
  return 1
}

# stop PID: TERM, wait, and forget it (so cleanup never signals a recycled pid).
stop() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=() pid
  for pid in "${CHILDREN[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  CHILDREN=("${kept[@]}")
}

# CPU seconds used so far by PID and its direct children (nginx: master + worker).
cpu_seconds() {
  local total=0 pid stat
  for pid in "$1" $(children_of "$1"); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    # after "pid (comm) ": field 12 = utime, 13 = stime (clock ticks)
    total=$((total + $(awk '{print $12 + $13}' <<<"$stat")))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

children_of() {
  local f
  for f in /proc/[0-9]*/stat; do
    awk -v p="$1" '{ sub(/^.*\) /, ""); if ($2 == p) { split(FILENAME, a, "/"); print a[3] } }' "$f" 2>/dev/null || true
  done
}

traceseal() { dotnet "$CLI_DLL" "$@"; }

# ---------------------------------------------------------------- build
cd "$ROOT"
if [[ $SKIP_LOAD -eq 0 ]]; then install_missing; fi
if [[ -z "$CLI_DLL" ]]; then
  say "building traceseal (Release) into $ART"
  dotnet build src/TraceSeal.Cli -c Release --artifacts-path "$ART" -v quiet -nologo >/dev/null
  CLI_DLL="$ART/bin/TraceSeal.Cli/release/traceseal.dll"
fi
if ! traceseal loadgen --help >/dev/null 2>&1; then
  echo "run.sh: '$CLI_DLL loadgen' is not available in this build (LoadgenCommand not registered in Program.cs?)" >&2
  exit 1
fi

RESULTS=()   # "target|protocol|json file|server cpu" per load run

LOAD_ARGS=(--duration "$DURATION" --spans-per-request "$SPANS" --connections "$CONNECTIONS" --concurrency "$CONCURRENCY")

# load TARGET PROTOCOL URL SERVER_PID [--http1.1]: one pinned loadgen run; its JSON and the server's CPU go into RESULTS.
load() {
  local label=$2 extra=()
  if [[ ${5:-} == --http1.1 ]]; then label="$2 h1"; extra=(--http1.1); fi
  local out="$WORK/$1-${label//[\/ ]/-}.json" before after secs elapsed
  say "load: $1 $label $3 (${LOAD_ARGS[*]} ${extra[*]})"
  before=$(cpu_seconds "$4")
  secs=$(awk -v d="${DURATION%s}" 'BEGIN { printf "%d", d + 40 }')
  timeout "$secs" taskset -c 1 dotnet "$CLI_DLL" loadgen --endpoint "$3" --protocol "$2" \
    --ca "$WORK/pki/ca.crt" --cert "$WORK/pki/client.crt" --key "$WORK/pki/client.key" \
    "${LOAD_ARGS[@]}" "${extra[@]}" --json >"$out" || true
  after=$(cpu_seconds "$4")
  elapsed=$(jq -r '.elapsed_seconds // 0' "$out" 2>/dev/null || echo 0)
  RESULTS+=("$1|$label|$out|$(awk -v a="$after" -v b="$before" -v e="$elapsed" 'BEGIN { if (e > 0) printf "%.2f", (a - b) / e; else print "-" }')")
}

collector_config() { # FILE EXPORTER_BLOCK EXPORTER_NAME
  cat >"$1" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT
        tls: { cert_file: $WORK/pki/server.crt, key_file: $WORK/pki/server.key, client_ca_file: $WORK/pki/ca.crt }
      http:
        endpoint: 127.0.0.1:$HTTP_PORT
        tls: { cert_file: $WORK/pki/server.crt, key_file: $WORK/pki/server.key, client_ca_file: $WORK/pki/ca.crt }
exporters:
$2
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [$3]
EOF
}

# run_traceseal TARGET CONFIG: start pinned to CPU 0, load over gRPC and HTTP/protobuf, stop. 1 if it did not start.
run_traceseal() {
  taskset -c 0 dotnet "$CLI_DLL" collector --config "$2" --log-level warn >"$WORK/$1.log" 2>&1 &
  local pid=$!
  CHILDREN+=("$pid")
  if ! wait_port "$HTTP_PORT" "$pid" 60 || ! wait_port "$GRPC_PORT" "$pid" 10; then
    stop "$pid"
    return 1
  fi
  load "$1" grpc "https://127.0.0.1:$GRPC_PORT" "$pid"
  load "$1" http/protobuf "https://127.0.0.1:$HTTP_PORT" "$pid"
  load "$1" http/protobuf "https://127.0.0.1:$HTTP_PORT" "$pid" --http1.1
  stop "$pid"
}

if [[ $SKIP_LOAD -eq 0 ]]; then
  for port in "$NGINX_PORT" "$GRPC_PORT" "$HTTP_PORT"; do
    if port_open "$port"; then echo "run.sh: 127.0.0.1:$port is in use; set BENCH_PORT_BASE" >&2; exit 1; fi
  done
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  say "dev PKI and recipient key in $WORK"
  traceseal certs init --out "$WORK/pki" --hosts localhost,127.0.0.1 >/dev/null
  traceseal keys init --name bench --out "$WORK/keys" >/dev/null

  # ------------------------------------------------------------ (a) nginx
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  mkdir -p "$WORK/nginx"
  ver=$("$NGINX" -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
  # "http2 on;" exists since 1.25.1; older versions take it as a listen parameter.
  if printf '%s\n1.25.1\n' "$ver" | sort -V -C; then listen_h2="ssl http2"; h2_directive=""; else listen_h2="ssl"; h2_directive="http2 on;"; fi
  user_directive=""; [[ $(id -u) -eq 0 ]] && user_directive="user root;"
  cat >"$WORK/nginx/nginx.conf" <<EOF
$user_directive
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$NGINX_PORT $listen_h2;
    $h2_directive
    ssl_certificate $WORK/pki/server.crt;
    ssl_certificate_key $WORK/pki/server.key;
    ssl_client_certificate $WORK/pki/ca.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /v1/traces {
      default_type application/x-protobuf;
      return 200 "";
    }
    location / { return 404; }
  }
}
EOF
  taskset -c 0 "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' >"$WORK/nginx.log" 2>&1 &
  nginx_pid=$!
  CHILDREN+=("$nginx_pid")
  if wait_port "$NGINX_PORT" "$nginx_pid" 20; then
    # HTTP/2 (as loadgen's default) and HTTP/1.1: nginx 1.22's "http2 flood detected" heuristic closes some
    # HTTP/2 connections when it answers before reading a body; those show up as transport errors.
    load nginx http/protobuf "https://127.0.0.1:$NGINX_PORT" "$nginx_pid"
    load nginx http/protobuf "https://127.0.0.1:$NGINX_PORT" "$nginx_pid" --http1.1
  else
    echo "run.sh: nginx did not start:" >&2; cat "$WORK/nginx.log" "$WORK/nginx/error.log" >&2 2>/dev/null || true
  fi
  stop "$nginx_pid"

  # ------------------------------------------------------------ (b) TraceSeal, discard
  collector_config "$WORK/discard.yaml" "  discard: {}" discard
  run_traceseal traceseal-discard "$WORK/discard.yaml" || { echo "run.sh: traceseal (discard) did not start:" >&2; cat "$WORK/traceseal-discard.log" >&2; }

  # ------------------------------------------------------------ (c) TraceSeal, sealed_store + fsync
  collector_config "$WORK/sealed.yaml" "  sealed_store:
    directory: $WORK/store
    recipients: [$WORK/keys/bench.recipient.pem]
    durability: fsync" sealed_store
  SEALED_NOTE=""
  if ! run_traceseal traceseal-sealed "$WORK/sealed.yaml"; then
    SEALED_NOTE="sealed_store: not available in this build ($(grep -m1 -i -E 'error|refus' "$WORK/traceseal-sealed.log" | cut -c1-160))"
  fi

  # ------------------------------------------------------------ table
  ceiling=0
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r target proto file _ <<<"$r"
    # The ceiling is nginx's best figure over HTTP/2 and HTTP/1.1.
    if [[ $target == nginx ]]; then
      v=$(jq -r '.spans_per_second // 0' "$file" 2>/dev/null || echo 0)
      ceiling=$(awk -v a="$ceiling" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
    fi
  done
  echo
  echo "load: ${LOAD_ARGS[*]}; server on CPU 0, loadgen on CPU 1"
  echo "load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
  printf '%-18s %-16s %12s %9s %9s %9s %8s %9s %7s %7s\n' target protocol spans/s req/s p50_ms p99_ms errors vs_nginx srv_cpu cli_cpu
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r target proto file srv <<<"$r"
    if ! jq -e . "$file" >/dev/null 2>&1; then printf '%-18s %-14s %s\n' "$target" "$proto" "no result (loadgen failed)"; continue; fi
    jq -r --arg t "$target" --arg p "$proto" --arg s "$srv" --argjson c "$ceiling" \
      '[$t, $p, (.spans_per_second|floor), (.requests_per_second|floor), (.latency_us.p50/1000), (.latency_us.p99/1000), .errors,
        (if $c > 0 then (.spans_per_second / $c * 100 | floor | tostring) + "%" else "-" end), $s, .client_cpu_cores] | @tsv' "$file" |
      awk -F'\t' '{ printf "%-18s %-16s %12s %9s %9.2f %9.2f %8s %9s %7s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
    jq -r '.errors_by_status | to_entries[] | "    error \(.value) x \(.key)"' "$file"
  done
  [[ -n "$SEALED_NOTE" ]] && printf '%-18s %s\n' traceseal-sealed "$SEALED_NOTE"
  echo
fi

# ---------------------------------------------------------------- sealing vs openssl, micro-benchmarks
if [[ $SKIP_MICRO -eq 0 ]]; then
  say "openssl speed -evp aes-256-gcm (CPU 1)"
  # Last line: AES-256-GCM, then thousands of bytes/s for 16, 64, 256, 1024, 8192, 16384-byte blocks.
  openssl_line=$(timeout 120 taskset -c 1 openssl speed -seconds 2 -evp aes-256-gcm 2>/dev/null | tail -1)
  openssl_mbs=$(awk '{ v = $NF; sub(/k$/, "", v); printf "%.1f", v / 1000 }' <<<"$openssl_line")
  say "building and running BenchmarkDotNet ($([[ $QUICK -eq 1 ]] && echo ShortRun || echo default job)) on CPU 1"
  dotnet build bench/TraceSeal.Benchmarks -c Release --artifacts-path "$ART" -v quiet -nologo >/dev/null
  mkdir -p "$WORK/bdn"
  quick_arg=(); [[ $QUICK -eq 1 ]] && quick_arg=(--quick)
  (cd "$WORK/bdn" && taskset -c 1 dotnet "$ART/bin/TraceSeal.Benchmarks/release/TraceSeal.Benchmarks.dll" "${quick_arg[@]}") >"$WORK/bdn.log" 2>&1 || true
  sed -n '/^| Method/,/^$/p' "$WORK/bdn.log"
  echo
  echo "openssl speed -evp aes-256-gcm, 16 KiB blocks: $openssl_mbs MB/s"
  printf '%-32s %12s %10s %14s\n' benchmark bytes/op MB/s alloc_B/op
  grep '^MICRO' "$WORK/bdn.log" | awk -F'\t' '{ printf "%-32s %12s %10s %14s\n", $2, $3, $4, $5 }'
  seal64=$(grep '^MICRO' "$WORK/bdn.log" | awk -F'\t' '$2 ~ /Seal/ && $3 == 67108864 { print $4 }')
  if [[ -n "$seal64" && "$openssl_mbs" != "0.0" ]]; then
    awk -v s="$seal64" -v o="$openssl_mbs" 'BEGIN { printf "sealing 64 MiB: %.1f MB/s = %.2fx slower than openssl (target: within 2x)\n", s, o / s }'
  else
    echo "sealing vs openssl: not measured (see $WORK/bdn.log above)"; tail -20 "$WORK/bdn.log"
  fi
fi
