#!/usr/bin/env bash
# bench/run.sh — side-by-side ingest benchmark over mutual TLS on loopback, plus micro-benchmarks.
#
#   bench/run.sh [--quick] [--duration 10s] [--warmup 30s] [--warmup-max 120s] [--spans 100] [--connections 4]
#                [--concurrency 4] [--reps 3] [--protocols grpc,h2,h1] [--targets nginx,discard,up]
#                [--wait-load LOAD] [--profile SECONDS] [--profile-protocol grpc|h2|h1] [--profile-target up|discard]
#                [--cli PATH/traceseal.dll] [--skip-load] [--skip-micro]
#
# From a fresh clone: builds Release, installs nginx and jq with apt-get if missing, then, with the server
# pinned to CPU 0 and the load generator (`traceseal loadgen`, same settings for all) to CPU 1 (taskset):
#   nginx    nginx, mTLS (ssl_verify_client on), one worker, `return 200` for POST /v1/traces: a null sink,
#            the TLS-termination cost of this machine (HTTP/2 and HTTP/1.1; it does not answer gRPC);
#   discard  `traceseal collector` with the discard exporter (receive, mTLS, validate, count, drop);
#   up       `traceseal up --dir DIR` itself: the config, PKI and keys it generates on its first start
#            (memory_limiter, batch, sealed_store with fsync'd acknowledgements); an empty store every rep.
# Protocols: grpc, h2 (http/protobuf over HTTP/2) and h1 (http/protobuf over HTTP/1.1). Each rep (--reps, default
# 3) starts every target afresh and runs its protocols on it, each after a warm-up: 5 s for nginx; for .NET until
# the tiered JIT has settled (see warm_up). Per run: spans/s, requests/s, p50/p99, errors and refusals by status,
# the server's CPU (utime+stime from /proc/PID/stat over the measured run), server-µs of CPU per acknowledged
# span, the server's peak RSS (VmHWM), its minor page faults and its threads' context switches per request. The
# summary shows min/median/max and each target's µs/span over nginx's.
# --profile N: afterwards, one `perf record -g` of N seconds of a warm `up` server (or --profile-target discard) under
#   load (DOTNET_PerfMapEnabled=1,
#   DOTNET_EnableWriteXorExecute=0 so JIT frames have names), `perf stat`, and bench/perf-categories.py's summary.
# --wait-load L: first wait (at most BENCH_WAIT_MAX seconds, default 600) until the 1-minute load average is <= L.
# Then `openssl speed -evp aes-256-gcm` next to the BenchmarkDotNet micro-benchmarks (--quick: ShortRun).
#
# Everything listens on 127.0.0.1 only. The whole run is bounded (BENCH_MAX_SECONDS, default 3000) and every
# child is killed on exit, Ctrl-C or timeout. Raw rows and the profile are kept in BENCH_OUT (default
# /tmp/ts-bench-out).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAX_SECONDS=${BENCH_MAX_SECONDS:-3000}

# Bound the whole script: re-run it under timeout(1), which sends TERM (our trap cleans up) and then KILL.
if [[ -z "${TS_BENCH_BOUNDED:-}" ]]; then
  export TS_BENCH_BOUNDED=1
  exec timeout --signal=TERM --kill-after=15 "$MAX_SECONDS" "$0" "$@"
fi

QUICK=0 DURATION=10s WARMUP=30s WARMUP_MAX=120s SPANS=100 CONNECTIONS=4 CONCURRENCY=4 CLI_DLL="" SKIP_LOAD=0 SKIP_MICRO=0
REPS=3 PROTOCOLS=grpc,h2,h1 TARGETS=nginx,discard,up WAIT_LOAD="" PROFILE=0 PROFILE_PROTOCOL=grpc PROFILE_TARGET=up
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --warmup-max) WARMUP_MAX=$2; shift ;;
    --spans) SPANS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --concurrency) CONCURRENCY=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --protocols) PROTOCOLS=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --wait-load) WAIT_LOAD=$2; shift ;;
    --profile) PROFILE=${2%s}; shift ;;
    --profile-protocol) PROFILE_PROTOCOL=$2; shift ;;
    --profile-target) PROFILE_TARGET=$2; shift ;;
    --cli) CLI_DLL=$2; shift ;;
    --skip-load) SKIP_LOAD=1 ;;
    --skip-micro) SKIP_MICRO=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --reps must be a positive integer" >&2; exit 2; }
for p in ${PROTOCOLS//,/ }; do [[ $p =~ ^(grpc|h2|h1)$ ]] || { echo "run.sh: unknown protocol $p (grpc, h2, h1)" >&2; exit 2; }; done
[[ $PROFILE_TARGET =~ ^(discard|up)$ ]] || { echo "run.sh: --profile-target is up or discard" >&2; exit 2; }
for t in ${TARGETS//,/ }; do [[ $t =~ ^(nginx|discard|up)$ ]] || { echo "run.sh: unknown target $t (nginx, discard, up)" >&2; exit 2; }; done

ART=${TS_ARTIFACTS:-/tmp/ts-bench-artifacts}
OUT=${BENCH_OUT:-/tmp/ts-bench-out}
PORT_BASE=${BENCH_PORT_BASE:-39400}
NGINX_PORT=$((PORT_BASE + 43)) GRPC_PORT=$((PORT_BASE + 17)) HTTP_PORT=$((PORT_BASE + 18)) METRICS_PORT=$((PORT_BASE + 19))
WORK=$(mktemp -d /tmp/ts-bench.XXXXXX)
CHILDREN=()
HZ=$(getconf CLK_TCK)

cleanup() {
  local pid
  for pid in "${CHILDREN[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${CHILDREN[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "/tmp/perf-${PROFILED_PID:-none}.map" "/tmp/perfinfo-${PROFILED_PID:-none}.map"
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
  command -v pgrep >/dev/null || missing+=(procps)
  command -v openssl >/dev/null || missing+=(openssl)
  [[ $PROFILE -gt 0 ]] && ! command -v perf >/dev/null && missing+=(linux-perf)
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

# stop PID: TERM, wait up to 20 s (the collector drains), then KILL; forget it (cleanup never signals a recycled pid).
stop() {
  kill -TERM "$1" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=() pid
  for pid in "${CHILDREN[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  CHILDREN=("${kept[@]}")
}

# The server is PID and its direct children (nginx: master + worker; the collector has none).
server_pids() { echo "$1"; pgrep -P "$1" 2>/dev/null || true; }

# CPU clock ticks (utime + stime) used so far by the server.
cpu_ticks() {
  local total=0 pid stat
  for pid in $(server_pids "$1"); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    # after "pid (comm) ": field 12 = utime, 13 = stime (clock ticks)
    total=$((total + $(awk '{print $12 + $13}' <<<"$stat")))
  done
  echo "$total"
}

# "TID TICKS" per JIT thread of a .NET server (the tiered compiler's background worker), to show how much of a
# run still went to compiling.
jit_threads() {
  local t
  for t in /proc/"$1"/task/*; do
    [[ $(cat "$t/comm" 2>/dev/null) == ".NET Tiered Com"* ]] || continue
    echo "${t##*/} $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null)"
  done
}

# "FAULTS SWITCHES": minor page faults of the server's processes, and context switches (voluntary + involuntary)
# of their live threads, so far. Per request they tell a fast run from a slow one of the same build (fresh pages
# faulted in, more hand-offs between threads).
fault_switches() {
  local faults=0 switches=0 pid stat
  for pid in $(server_pids "$1"); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    faults=$((faults + $(awk '{print $8}' <<<"$stat")))   # field 10, minflt
    switches=$((switches + $(cat /proc/"$pid"/task/*/status 2>/dev/null |
      awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }')))
  done
  echo "$faults $switches"
}

# Peak resident set (VmHWM) of the server in MiB, summed over its processes.
peak_rss_mib() {
  local total=0 pid kb
  for pid in $(server_pids "$1"); do
    kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  awk -v k="$total" 'BEGIN { printf "%.0f", k / 1024 }'
}

load1() { cut -d' ' -f1 /proc/loadavg; }

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

LOAD_ARGS=(--spans-per-request "$SPANS" --connections "$CONNECTIONS" --concurrency "$CONCURRENCY")

# ---------------------------------------------------------------- servers
# start_server TARGET: starts it pinned to CPU 0 and sets SERVER_PID and PKI (the directory with ca.crt,
# client.crt, client.key). 1 if it did not start (its log is in $WORK/TARGET.log).
start_server() {
  local env=()
  # BENCH_SERVER_ENV="NAME=VALUE ..." is passed to the TraceSeal server only (for A/B runs of runtime settings).
  # Profiling: JIT symbols in /tmp/perf-PID.map, JIT code run from that mapping (W^X double mapping off).
  # Precompiled (ReadyToRun) framework code has no name for perf until it is re-jitted at tier 1, which a
  # long warm-up does for everything hot.
  env=(env ${BENCH_SERVER_ENV:-})
  [[ ${PERFMAP:-0} -eq 1 ]] && env+=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)
  case "$1" in
    nginx)
      taskset -c 0 "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' >"$WORK/nginx.log" 2>&1 &
      SERVER_PID=$!; PKI=$WORK/pki ;;
    discard)
      taskset -c 0 "${env[@]}" dotnet "$CLI_DLL" collector --config "$WORK/discard.yaml" --log-level warn >"$WORK/discard.log" 2>&1 &
      SERVER_PID=$!; PKI=$WORK/pki ;;
    up)
      # `up` keeps its config, PKI and keys (generated by its first start); the store starts empty at every start.
      rm -rf "$WORK/up/data"
      taskset -c 0 "${env[@]}" dotnet "$CLI_DLL" up --dir "$WORK/up" --grpc-port "$GRPC_PORT" --http-port "$HTTP_PORT" \
        --metrics-port "$METRICS_PORT" --log-level warn >"$WORK/up.log" 2>&1 &
      SERVER_PID=$!; PKI=$WORK/up/certs ;;
  esac
  CHILDREN+=("$SERVER_PID")
  local ok=0
  if [[ $1 == nginx ]]; then wait_port "$NGINX_PORT" "$SERVER_PID" 20 && ok=1
  else wait_port "$HTTP_PORT" "$SERVER_PID" 90 && wait_port "$GRPC_PORT" "$SERVER_PID" 10 && ok=1; fi
  if [[ $ok -eq 0 ]]; then stop "$SERVER_PID"; return 1; fi
  return 0
}

# loadgen PROTOCOL DURATION OUT: one pinned loadgen run against the current server.
loadgen() {
  local args=() port
  case "$1" in
    grpc) args=(--protocol grpc); port=$GRPC_PORT ;;
    h2) args=(--protocol http/protobuf); port=$HTTP_PORT ;;
    h1) args=(--protocol http/protobuf --http1.1); port=$HTTP_PORT ;;
  esac
  [[ $TARGET == nginx ]] && port=$NGINX_PORT
  timeout "$(( ${2%s} + 40 ))" taskset -c 1 dotnet "$CLI_DLL" loadgen --endpoint "https://127.0.0.1:$port" "${args[@]}" \
    --ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" \
    --duration "$2" "${LOAD_ARGS[@]}" --json >"$3" 2>"$3.err" || true
}

# Refusals are the retryable "not now" answers (HTTP 429/503, gRPC RESOURCE_EXHAUSTED/UNAVAILABLE); any other
# failure is an error.
REFUSAL_RE='^(http 429|http 503|grpc 8 |grpc 14 )'

# warm_up PROTOCOL FIRST(0/1): load until the server is warm; sets WARMED (seconds). nginx: 5 s. A .NET server keeps
# re-compiling hot code (tiered JIT, dynamic PGO) for up to a minute of full load and runs up to 3x slower until
# it is done, so it gets 5 s chunks until two chunks in a row each had its JIT thread at <= 2 % of its CPU: at
# least --warmup (default 30 s) on a fresh server and 10 s for a further protocol, at most --warmup-max (120 s).
warm_up() {
  local min=${WARMUP%s} max=${WARMUP_MAX%s} quiet=0 t0 t1 j0 j1
  WARMED=0
  if [[ $TARGET == nginx ]]; then
    loadgen "$1" 5s "$WORK/warmup.json"; WARMED=5; return
  fi
  [[ $2 -eq 1 ]] || min=10
  while ((WARMED < max)); do
    t0=$(cpu_ticks "$SERVER_PID"); j0=$(jit_threads "$SERVER_PID")
    loadgen "$1" 5s "$WORK/warmup.json"
    t1=$(cpu_ticks "$SERVER_PID"); j1=$(awk 'NR == FNR { b[$1] = $2; next } { s += $2 - b[$1] } END { print s + 0 }' \
      <(echo "$j0") <(jit_threads "$SERVER_PID"))
    WARMED=$((WARMED + 5))
    if awk -v j="$j1" -v t="$((t1 - t0))" 'BEGIN { exit !(t > 0 && j <= 0.02 * t) }'; then quiet=$((quiet + 1)); else quiet=0; fi
    ((WARMED >= min && quiet >= 2)) && return
  done
  return 0
}

# Reset the server's peak RSS (VmHWM) so each protocol's figure is its own; 1 if the kernel refuses.
reset_peak_rss() {
  local pid ok=0
  for pid in $(server_pids "$1"); do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || ok=1; done
  return $ok
}

ROWS=$OUT/rows.tsv
RSS_NOTE="from the start of each protocol's warm-up through its run"
# run_target TARGET REP: one fresh server, then per protocol: warm-up, measured run; one row per protocol in $ROWS.
run_target() {
  TARGET=$1
  local rep=$2 proto out before after jit_before jit rss l1 fs_before fs_after protos=() first=1
  for proto in ${PROTOCOLS//,/ }; do [[ $TARGET == nginx && $proto == grpc ]] || protos+=("$proto"); done
  if ! start_server "$TARGET"; then
    echo "run.sh: $TARGET did not start:" >&2; tail -20 "$WORK/$TARGET.log" >&2 || true
    for proto in "${protos[@]}"; do printf '%s\t%s\t%s\tFAILED\n' "$TARGET" "$proto" "$rep" >>"$ROWS"; done
    return
  fi
  for proto in "${protos[@]}"; do
    out="$WORK/$TARGET-$proto-$rep.json"
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "run.sh: $TARGET exited before $proto rep $rep: $(tail -3 "$WORK/$TARGET.log")" >&2
      printf '%s\t%s\t%s\tFAILED\n' "$TARGET" "$proto" "$rep" >>"$ROWS"; continue
    fi
    reset_peak_rss "$SERVER_PID" || RSS_NOTE="since server start (this kernel refused clear_refs)"
    say "rep $rep/$REPS: $TARGET $proto: warm-up (load average $(load1))"
    warm_up "$proto" "$first"
    first=0
    say "rep $rep/$REPS: $TARGET $proto: warm after ${WARMED}s; measuring $DURATION"
    sleep 0.5
    l1=$(load1)
    before=$(cpu_ticks "$SERVER_PID")
    jit_before=$(jit_threads "$SERVER_PID")
    fs_before=$(fault_switches "$SERVER_PID")
    loadgen "$proto" "$DURATION" "$out"
    sleep 1   # let acknowledged work the server does after answering (batch flush, segment close) land in the count
    after=$(cpu_ticks "$SERVER_PID")
    fs_after=$(fault_switches "$SERVER_PID")
    jit=$(awk -v hz="$HZ" 'NR == FNR { b[$1] = $2; next } { s += $2 - b[$1] } END { printf "%.2f", s / hz }' \
      <(echo "$jit_before") <(jit_threads "$SERVER_PID"))
    rss=$(peak_rss_mib "$SERVER_PID")
    if ! jq -e .spans "$out" >/dev/null 2>&1; then
      echo "run.sh: $TARGET $proto rep $rep: loadgen gave no result: $(head -c 300 "$out.err")" >&2
      printf '%s\t%s\t%s\tFAILED\n' "$TARGET" "$proto" "$rep" >>"$ROWS"
      continue
    fi
    cp "$out" "$OUT/"
    # target proto rep spans/s req/s p50 p99 spans errors refusals detail cpu_s srv_cores us/span rss cli load1 jit_s warm_s
    #   faults/req switches/req
    read -r f0 c0 <<<"$fs_before"; read -r f1 c1 <<<"$fs_after"
    jq -r --arg t "$TARGET" --arg p "$proto" --arg r "$rep" --arg re "$REFUSAL_RE" \
          --argjson flt "$((f1 - f0))" --argjson csw "$((c1 - c0))" \
          --argjson cpu "$(awk -v a="$after" -v b="$before" -v hz="$HZ" 'BEGIN { printf "%.2f", (a - b) / hz }')" \
          --arg rss "$rss" --arg l1 "$l1" --arg jit "$jit" --arg warm "$WARMED" '
      (.errors_by_status | to_entries) as $e
      | [$t, $p, $r, (.spans_per_second | floor), (.requests_per_second | floor),
         (.latency_us.p50 / 1000), (.latency_us.p99 / 1000), .spans,
         ([$e[] | select(.key | test($re) | not) | .value] | add // 0),
         ([$e[] | select(.key | test($re)) | .value] | add // 0),
         (if ($e | length) == 0 then "-" else ([$e[] | "\(.key)=\(.value)"] | join("; ")) end),
         $cpu, (if .elapsed_seconds > 0 then $cpu / .elapsed_seconds else 0 end),
         (if .spans > 0 then $cpu / .spans * 1e6 else 0 end), $rss, .client_cpu_cores, $l1, $jit, $warm,
         (if .requests > 0 then $flt / .requests else 0 end), (if .requests > 0 then $csw / .requests else 0 end)] | @tsv' "$out" >>"$ROWS"
  done
  kill -0 "$SERVER_PID" 2>/dev/null || echo "run.sh: $TARGET rep $rep: the server exited during the runs" >&2
  stop "$SERVER_PID"
}

# stats TARGET PROTOCOL COLUMN: "min median max" of one column over the successful reps.
stats() {
  awk -F'\t' -v t="$1" -v p="$2" -v c="$3" '$1 == t && $2 == p && $4 != "FAILED" { print $c }' "$ROWS" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - -"; exit }
           m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print v[1], m, v[NR] }'
}
sum_col() { awk -F'\t' -v t="$1" -v p="$2" -v c="$3" '$1 == t && $2 == p && $4 != "FAILED" { s += $c } END { print s + 0 }' "$ROWS"; }

# nginx's figure a target is compared with: same protocol; gRPC against nginx over HTTP/2 (nginx answers no gRPC).
ref_proto() { [[ $1 == grpc ]] && echo h2 || echo "$1"; }
target_ratio() { case "$1" in up) echo 4 ;; discard) echo 2 ;; *) echo "" ;; esac; }
label() { case "$1" in up) echo "traceseal-up" ;; discard) echo "traceseal-discard" ;; *) echo "$1" ;; esac; }
proto_label() { case "$1" in grpc) echo "grpc" ;; h2) echo "http/protobuf h2" ;; h1) echo "http/protobuf h1" ;; esac; }

if [[ $SKIP_LOAD -eq 0 ]]; then
  for port in "$NGINX_PORT" "$GRPC_PORT" "$HTTP_PORT" "$METRICS_PORT"; do
    if port_open "$port"; then echo "run.sh: 127.0.0.1:$port is in use; set BENCH_PORT_BASE" >&2; exit 1; fi
  done
  if [[ -n $WAIT_LOAD ]]; then
    wait_until=$((SECONDS + ${BENCH_WAIT_MAX:-600}))
    while awk -v l="$(load1)" -v m="$WAIT_LOAD" 'BEGIN { exit !(l > m) }' && ((SECONDS < wait_until)); do
      say "load average $(load1) > $WAIT_LOAD: waiting for a quieter moment ($((wait_until - SECONDS)) s left)"
      sleep 20
    done
  fi
  mkdir -p "$OUT"
  rm -f "$OUT"/*.json "$ROWS"
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  START_TIME=$(date -u '+%Y-%m-%d %H:%M UTC')
  say "dev PKI in $WORK"
  traceseal certs init --out "$WORK/pki" --hosts localhost,127.0.0.1 >/dev/null

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

  cat >"$WORK/discard.yaml" <<EOF
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
  discard: {}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS_PORT
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [discard]
EOF

  # Repetitions outermost, so a noisy minute on the shared machine spreads over every target alike.
  for ((rep = 1; rep <= REPS; rep++)); do
    for target in ${TARGETS//,/ }; do
      run_target "$target" "$rep"
    done
  done
  [[ -f $WORK/up/collector.yaml ]] && cp "$WORK/up/collector.yaml" "$OUT/up-collector.yaml"
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

  # ------------------------------------------------------------ tables
  echo
  echo "started $START_TIME; load per run: --duration $DURATION ${LOAD_ARGS[*]}, after a warm-up (warm_s)"
  echo "server on CPU 0, loadgen on CPU 1; $REPS repetition(s), interleaved; $(nproc) CPUs"
  echo "load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER"
  echo
  echo "every run (warm_s = warm-up before it; cpu_s = server utime+stime over the run, of which jit_s in the tiered"
  echo "JIT's thread; us/span = server CPU us per acknowledged span; load1 = 1-min load average at its start;"
  echo "flt/req, csw/req = the server's minor page faults and its threads' context switches per acknowledged request):"
  printf '%-17s %-17s %3s %6s %10s %7s %7s %8s %6s %6s %6s %6s %6s %7s %6s %5s %5s %7s %7s\n' \
    target protocol rep warm_s spans/s req/s p50_ms p99_ms errors refus cpu_s jit_s srv_c us/span rss_MiB cli_c load1 flt/req csw/req
  while IFS=$'\t' read -r t p r sps rps p50 p99 _ err ref detail cpu cores us rss cli l1 jit warm flt csw; do
    if [[ $sps == FAILED ]]; then printf '%-17s %-17s %3s %s\n' "$(label "$t")" "$(proto_label "$p")" "$r" "no result"; continue; fi
    printf '%-17s %-17s %3s %6s %10s %7s %7.2f %8.2f %6s %6s %6.2f %6s %6.2f %7.2f %6s %5.2f %5s %7.2f %7.2f\n' \
      "$(label "$t")" "$(proto_label "$p")" "$r" "$warm" "$sps" "$rps" "$p50" "$p99" "$err" "$ref" "$cpu" "${jit:--}" "$cores" "$us" "$rss" "$cli" "$l1" "${flt:-0}" "${csw:-0}"
    [[ $detail != - ]] && echo "      ${detail}"
  done <"$ROWS"
  echo
  echo "summary over $REPS repetition(s): median, with [min–max] where it matters; ratio = median us/span over nginx's"
  echo "(same protocol; gRPC against nginx HTTP/2). spans/core-s = spans per server-core-second = 1e6 / us/span."
  printf '%-17s %-17s %-28s %7s %7s %8s %6s %6s %6s %-22s %8s %8s %-8s %7s\n' \
    target protocol 'spans/s med [min-max]' req/s p50_ms p99_ms errors refus srv_c 'us/span med [min-max]' spans/core-s ratio 'target' rss_MiB
  for target in ${TARGETS//,/ }; do
    for proto in ${PROTOCOLS//,/ }; do
      [[ $target == nginx && $proto == grpc ]] && continue
      read -r smin smed smax <<<"$(stats "$target" "$proto" 4)"
      [[ $smed == - ]] && { printf '%-17s %-17s no result\n' "$(label "$target")" "$(proto_label "$proto")"; continue; }
      read -r _ rmed _ <<<"$(stats "$target" "$proto" 5)"
      read -r _ p50 _ <<<"$(stats "$target" "$proto" 6)"
      read -r _ p99 _ <<<"$(stats "$target" "$proto" 7)"
      read -r _ cmed _ <<<"$(stats "$target" "$proto" 13)"
      read -r umin umed umax <<<"$(stats "$target" "$proto" 14)"
      read -r _ _ rssmax <<<"$(stats "$target" "$proto" 15)"
      err=$(sum_col "$target" "$proto" 9); ref=$(sum_col "$target" "$proto" 10)
      read -r _ nmed _ <<<"$(stats nginx "$(ref_proto "$proto")" 14)"
      ratio=- verdict=""
      if [[ $target != nginx && $nmed != - ]]; then
        ratio=$(awk -v a="$umed" -v b="$nmed" 'BEGIN { printf "%.1fx", a / b }')
        lim=$(target_ratio "$target")
        verdict=$(awk -v a="$umed" -v b="$nmed" -v l="$lim" 'BEGIN { printf "<=%dx %s", l, (a / b <= l ? "met" : "NOT") }')
      fi
      printf '%-17s %-17s %-28s %7.0f %7.2f %8.2f %6s %6s %6.2f %-22s %8.0f %8s %-8s %7s\n' \
        "$(label "$target")" "$(proto_label "$proto")" \
        "$(printf '%.0f [%.0f-%.0f]' "$smed" "$smin" "$smax")" "$rmed" "$p50" "$p99" "$err" "$ref" "$cmed" \
        "$(printf '%.2f [%.2f-%.2f]' "$umed" "$umin" "$umax")" "$(awk -v u="$umed" 'BEGIN { print (u > 0 ? 1e6 / u : 0) }')" \
        "$ratio" "$verdict" "$rssmax"
      awk -F'\t' -v t="$target" -v p="$proto" '$1 == t && $2 == p && $11 != "-" && $4 != "FAILED" { n = split($11, a, "; "); for (i = 1; i <= n; i++) { split(a[i], kv, "="); s[kv[1]] += kv[2] } }
        END { for (k in s) printf "      %s x %s (all reps)\n", s[k], k }' "$ROWS"
    done
  done
  echo "(rss_MiB: the highest peak RSS (VmHWM) over the reps, $RSS_NOTE; nginx: master + worker)"
  echo "raw rows and loadgen JSON: $OUT"
  echo

  # ------------------------------------------------------------ profile of `up` under load
  if [[ $PROFILE -gt 0 ]]; then
    TARGET=$PROFILE_TARGET PERFMAP=1
    if start_server "$PROFILE_TARGET"; then
      PROFILED_PID=$SERVER_PID
      say "profile: perf record -g on the $PROFILE_TARGET server (pid $SERVER_PID) for ${PROFILE}s under $PROFILE_PROTOCOL load"
      warm_up "$PROFILE_PROTOCOL" 1
      say "profile: warm after ${WARMED}s"
      loadgen "$PROFILE_PROTOCOL" "$((PROFILE + 4))s" "$OUT/profile-load.json" &
      lg=$!
      sleep 2
      perf stat -e task-clock,page-faults,major-faults,context-switches,cpu-migrations -p "$SERVER_PID" \
        -o "$OUT/perf-stat.txt" -- sleep "$PROFILE" &
      ps_pid=$!
      perf record -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$OUT/perf.data" -- sleep "$PROFILE" >/dev/null 2>&1 || true
      wait "$ps_pid" || true
      wait "$lg" || true
      cp "/tmp/perf-$SERVER_PID.map" "$OUT/" 2>/dev/null || true
      {
        echo "== perf report --no-children --sort dso"
        perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v -e '^#' -e '^$' | head -25 || true
        echo "== perf report --no-children --sort dso,sym (self time, >= 0.5%)"
        perf report -i "$OUT/perf.data" --no-children --sort dso,sym --stdio -g none --percent-limit 0.5 2>/dev/null | grep -v -e '^#' -e '^$' | head -70 || true
        echo "== perf report --children --sort sym (inclusive, >= 3%)"
        perf report -i "$OUT/perf.data" --children --sort sym --stdio -g none --percent-limit 3 2>/dev/null | grep -v -e '^#' -e '^$' | head -80 || true
      } >"$OUT/perf-report.txt"
      if command -v python3 >/dev/null; then
        perf script -i "$OUT/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null | python3 "$ROOT/bench/perf-categories.py" >"$OUT/perf-categories.txt" || true
      fi
      stop "$SERVER_PID"
      echo "profile of traceseal $PROFILE_TARGET under $PROFILE_PROTOCOL load (${PROFILE}s, perf record -e cpu-clock -F 999 -g; JIT symbols from DOTNET_PerfMapEnabled=1):"
      jq -r '"  load during the profile: \(.spans_per_second | floor) spans/s, errors \(.errors)"' "$OUT/profile-load.json" 2>/dev/null || true
      grep -E 'task-clock|faults|switches|migrations|seconds time' "$OUT/perf-stat.txt" || true
      cat "$OUT/perf-categories.txt" 2>/dev/null || head -40 "$OUT/perf-report.txt"
      echo "(full report: $OUT/perf-report.txt; perf.data and the perf map are kept there)"
      echo
    else
      echo "run.sh: profile: $PROFILE_TARGET did not start" >&2
    fi
  fi
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
