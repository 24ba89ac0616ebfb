# Shared helpers for the bench/reliability/*.sh scripts (sourced, not run). Loopback only.
#
# Environment:
#   TS_CLI            an existing traceseal.dll to use (default: build src/TraceSeal.Cli Release into $TS_ART)
#   TS_ART            artifacts path of that build (default /tmp/ts-art-rel)
#   RELI_PORT_BASE    first of the ports used (default 39500): +17 gRPC, +18 HTTP, +88 self-telemetry
#   RELI_KEEP=1       keep the work directory (printed) instead of deleting it
# A script sets RELI_MAX_SECONDS before sourcing this file; the whole script then re-runs itself under
# `timeout` (which signals the whole process group), and the EXIT trap kills every child it started.

set -euo pipefail

RELI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [[ -z ${RELI_UNDER_TIMEOUT:-} ]]; then
  export RELI_UNDER_TIMEOUT=1
  exec timeout -k 15 "${RELI_MAX_SECONDS:-600}" bash "$0" "$@"
fi

PORT_BASE=${RELI_PORT_BASE:-39500}
GRPC_PORT=$((PORT_BASE + 17)) HTTP_PORT=$((PORT_BASE + 18)) TEL_PORT=$((PORT_BASE + 88))
WORK=$(mktemp -d /tmp/ts-reli.XXXXXX)
CHILDREN=()
CLEANUP_HOOKS=()

reli_cleanup() {
  local rc=$? pid hook
  for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook" || true; done
  for pid in "${CHILDREN[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CHILDREN[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ ${RELI_KEEP:-0} == 1 ]]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap reli_cleanup EXIT
trap 'echo "$(basename "$0"): stopped (signal or time limit)" >&2; exit 124' INT TERM

say() { printf '== %s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# forget PID: no longer signalled by the cleanup (it was waited for).
forget() {
  local kept=() pid
  for pid in "${CHILDREN[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  CHILDREN=("${kept[@]}")
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_cli() {
  local art=${TS_ART:-/tmp/ts-art-rel}
  if [[ -z ${TS_CLI:-} ]]; then
    say "building traceseal (Release) into $art"
    (cd "$RELI_ROOT" && dotnet build src/TraceSeal.Cli -c Release --artifacts-path "$art" -v quiet -nologo >/dev/null)
    TS_CLI="$art/bin/TraceSeal.Cli/release/traceseal.dll"
  fi
  for p in "$GRPC_PORT" "$HTTP_PORT" "$TEL_PORT"; do
    if port_open "$p"; then echo "127.0.0.1:$p is in use; set RELI_PORT_BASE" >&2; exit 1; fi
  done
  command -v jq >/dev/null || { echo "jq is required (apt-get install jq)" >&2; exit 1; }
}

traceseal() { dotnet "$TS_CLI" "$@"; }

# pki_and_keys: dev PKI in $WORK/pki (CA, server for localhost/127.0.0.1, client) and a recipient key pair.
pki_and_keys() {
  traceseal certs init --out "$WORK/pki" --hosts localhost,127.0.0.1 >/dev/null
  traceseal keys init --name reader --out "$WORK/keys" >/dev/null
}

# write_config FILE STORE_DIR PROCESSORS_YAML (may be empty) [EXTRA_SEALED_STORE_YAML] [EXTRA_RECEIVER_YAML (limits, tenants: 4 spaces in)]
# The pipeline's exporters are $PIPELINE_EXPORTERS (default [sealed_store]); another exporter can follow the store's
# keys in EXTRA_SEALED_STORE_YAML (2 spaces in).
write_config() {
  local procs_block="" procs_list="[]"
  if [[ -n $3 ]]; then procs_block="processors:
$3"; procs_list="[memory_limiter]"; fi
  cat >"$1" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT
        tls: { cert_file: $WORK/pki/server.crt, key_file: $WORK/pki/server.key, client_ca_file: ${CLIENT_CA_FILE:-$WORK/pki/ca.crt} }
      http:
        endpoint: 127.0.0.1:$HTTP_PORT
        tls: { cert_file: $WORK/pki/server.crt, key_file: $WORK/pki/server.key, client_ca_file: ${CLIENT_CA_FILE:-$WORK/pki/ca.crt} }
${5:-}
$procs_block
exporters:
  sealed_store:
    directory: $2
    recipients: [$WORK/keys/reader.recipient.pem]
    durability: fsync
${4:-}
service:
  telemetry:
    metrics: { address: 127.0.0.1:$TEL_PORT }
  pipelines:
    traces:
      receivers: [otlp]
      processors: $procs_list
      exporters: ${PIPELINE_EXPORTERS:-[sealed_store]}
EOF
}

# start_collector CONFIG LOG: starts it in the background, sets COLLECTOR_PID, waits for /readyz (60 s).
start_collector() {
  dotnet "$TS_CLI" collector --config "$1" >"$2" 2>&1 &
  COLLECTOR_PID=$!
  CHILDREN+=("$COLLECTOR_PID")
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$COLLECTOR_PID" 2>/dev/null; then echo "collector exited during start:" >&2; tail -20 "$2" >&2; return 1; fi
    if curl -sf "http://127.0.0.1:$TEL_PORT/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "collector not ready after 60 s" >&2; tail -20 "$2" >&2; return 1
}

# stop_collector: SIGTERM (graceful drain), wait up to 30 s, then SIGKILL. Sets STOP_RC to its exit status
# (143 = 128 + SIGTERM after the drain, as System.CommandLine reports it; 137 = it had to be killed).
stop_collector() {
  local pid=$COLLECTOR_PID
  STOP_RC=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || STOP_RC=$?
  forget "$pid"
}

metric() { # metric 'NAME{labels}' -> value (0 when absent)
  curl -s "http://127.0.0.1:$TEL_PORT/metrics" 2>/dev/null | awk -v m="$1" 'index($0, m) == 1 { print $NF; found = 1 } END { if (!found) print 0 }' | head -1
}

# loadgen_bg OUT_JSON ARGS...: loadgen over mTLS in the background (sets LOADGEN_PID); ARGS are loadgen options.
# LOADGEN_CLIENT=NAME uses the client certificate $WORK/pki/NAME.crt (`traceseal certs client NAME`), default client.
loadgen_bg() {
  local out=$1 client=${LOADGEN_CLIENT:-client}; shift
  dotnet "$TS_CLI" loadgen --ca "$WORK/pki/ca.crt" --cert "$WORK/pki/$client.crt" --key "$WORK/pki/$client.key" \
    --json --quiet "$@" >"$out" 2>"$out.err" &
  LOADGEN_PID=$!
  CHILDREN+=("$LOADGEN_PID")
}

# wait_loadgen: waits for LOADGEN_PID and forgets it.
wait_loadgen() { wait "$LOADGEN_PID" 2>/dev/null || true; forget "$LOADGEN_PID"; }

# stored_counts STORE: "SPANS DISTINCT_TRACES QUERY_EXIT PROBE_SPANS" read back with `traceseal query` (every object
# authenticated; the reader shows a span stored twice once). PROBE_SPANS: spans of the probe trace (probe_bodies).
stored_counts() {
  local out="$WORK/query.json" rc=0
  traceseal query --store "$1" --identity "$WORK/keys/reader.identity.pem" --since 24h --limit 0 --format json >"$out" 2>"$WORK/query.err" || rc=$?
  local spans traces probe
  # The JSON is one line; split it at commas and braces so that line tools stay fast.
  read -r spans traces probe < <(tr ',{' '\n\n' <"$out" | awk -F'"' '
    $2 == "spanId" { s++ }
    $2 == "traceId" { t[$4] = 1; if ($4 == "0102030405060708090a0b0c0d0e0f10") p++ }
    END { n = 0; for (k in t) n++; print s + 0, n, p + 0 }')
  rm -f "$out"
  echo "$spans $traces $rc $probe"
}

# probe_bodies DIR: DIR/probe.pb, a minimal valid OTLP trace request (one span, trace id 0102..10, start and end
# time now, so `query --since` finds it) and DIR/probe.grpc, the same with the 5-byte gRPC prefix.
probe_bodies() {
  local ns le="" i
  ns=$(date +%s%N)
  for i in 0 1 2 3 4 5 6 7; do le+=$(printf '\\x%02x' $(( (ns >> (8 * i)) & 255 ))); done
  printf "\x0a\x35\x12\x33\x12\x31\x0a\x10\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x12\x08\x01\x02\x03\x04\x05\x06\x07\x08\x2a\x01x\x39${le}\x41${le}" >"$1/probe.pb"
  { printf '\x00\x00\x00\x00\x37'; cat "$1/probe.pb"; } >"$1/probe.grpc"
}

# rss_sampler PID OUT [split]: VmRSS (kB) every 200 ms into OUT until PID exits; with "split", each line is
# "VmRSS<TAB>RssAnon<TAB>RssFile". Sets SAMPLER_PID.
rss_sampler() {
  ( while kill -0 "$1" 2>/dev/null; do
      awk -v all="${3:-}" '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } /^RssFile/ { f = $2 }
        END { if (r) print (all == "split" ? r "\t" a "\t" f : r) }' "/proc/$1/status" 2>/dev/null || true
      sleep 0.2
    done ) >"$2" &
  SAMPLER_PID=$!
  CHILDREN+=("$SAMPLER_PID")
}
