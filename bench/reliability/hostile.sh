#!/usr/bin/env bash
# Hostile clients that hold a valid certificate (issue 14), against one collector (mTLS, sealed_store, fsync),
# loopback, bounded. The long versions of tests/TraceSeal.Collector.Tests/Receivers/Hostile/.
#
#  1. connection flood: FLOOD_CONNECTIONS raw TCP connections (no TLS) from 127.0.0.2, held HOLD seconds, while
#     loadgen (an ordinary client, 127.0.0.1) sends at ORDINARY_RATE req/s; then IDLE_CONNECTIONS mTLS + HTTP/2
#     connections from 127.0.0.3 that never send a request (limits::idle_timeout 10s here): when are they closed?
#  2. HTTP/2 PING + SETTINGS flood on 3 connections in turn: frames sent before the collector closes each.
#  3. grpc-timeout: GRPC_CALLS calls with `99999999H` and GRPC_CALLS with `abc` (curl, HTTP/2): statuses, and the
#     collector's log lines at warn/fail level.
#  4. compression-ratio bombs: BOMBS OTLP/HTTP bodies of ~20 KB gzip inflating to 20 MB: statuses, store growth.
#  5. tenant quota: tenant acme (quota 50 requests/s) at full speed and tenant globex at 100 req/s, QUOTA_SECONDS:
#     acme's acknowledged rate, its refusals; globex's success rate.
# Throughout: collector VmRSS sampled every 200 ms, open fds sampled every second; it must still be alive and
# ready at the end.
#
# Targets (issue 14): the ordinary client and globex succeed >= 99%; over-limit connections are closed at once;
# idle connections closed within idle_timeout + 5 s; a PING flood is closed within a second; grpc-timeout never
# 500 and no Error lines; bombs refused (413), the store grows by less than 1 MB; acme held to ~its quota with
# 429s; the collector stays up, peak RSS < 1 GiB. Exit 1 when one is missed.
#
# Usage: bench/reliability/hostile.sh      Environment: FLOOD_CONNECTIONS (3000), HOLD (20), ORDINARY_RATE (100),
#   IDLE_CONNECTIONS (300), GRPC_CALLS (100), BOMBS (100), QUOTA_SECONDS (15); see lib.sh for TS_CLI/RELI_PORT_BASE.
# Bounded: 360 s in all.
RELI_MAX_SECONDS=360
source "$(dirname "$0")/lib.sh"
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-3000} HOLD=${HOLD:-20} ORDINARY_RATE=${ORDINARY_RATE:-100}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-300} GRPC_CALLS=${GRPC_CALLS:-100} BOMBS=${BOMBS:-100} QUOTA_SECONDS=${QUOTA_SECONDS:-15}
HOSTILE="python3 $(dirname "$0")/hostile.py"
FAILED=0
miss() { echo "MISSED: $*"; FAILED=1; }

ensure_cli
ulimit -n 65536 2>/dev/null || true
pki_and_keys
traceseal certs client acme-api --ca-dir "$WORK/pki" >/dev/null
traceseal certs client globex-api --ca-dir "$WORK/pki" >/dev/null
probe_bodies "$WORK"
LOAD0=$(loadavg)
echo "machine: $(nproc) cores, $(uname -sr); load average at start $LOAD0"

STORE="$WORK/store"
write_config "$WORK/collector.yaml" "$STORE" "" "" "    limits: { max_connections: 2048, max_connections_per_address: 256, idle_timeout: 10s }
    tenants:
      - { tenant: acme, identities: [\"cn:acme-*\"], quota: { requests_per_second: 50 } }
      - { tenant: globex, identities: [\"cn:globex-*\"] }
      - { tenant: ordinary, identities: [\"cn:traceseal-client\"] }"
start_collector "$WORK/collector.yaml" "$WORK/collector.log"
rss_sampler "$COLLECTOR_PID" "$WORK/rss"
( while kill -0 "$COLLECTOR_PID" 2>/dev/null; do ls "/proc/$COLLECTOR_PID/fd" 2>/dev/null | wc -l; sleep 1; done ) >"$WORK/fds" &
CHILDREN+=("$!")
sleep 1
echo "idle collector: VmRSS $(( $(tail -1 "$WORK/rss") / 1024 )) MiB, $(tail -1 "$WORK/fds") fds"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", 100 * a / b }'; }

# ------------------------------------------------------------------ 1. connections
say "1. $FLOOD_CONNECTIONS raw connections from 127.0.0.2 held ${HOLD}s; ordinary loadgen at $ORDINARY_RATE req/s alongside"
loadgen_bg "$WORK/ordinary.json" --endpoint "https://127.0.0.1:$HTTP_PORT" --protocol http/protobuf --rate "$ORDINARY_RATE" --duration "${HOLD}s" --connections 2 --concurrency 2 --spans-per-request 20
FLOOD=$($HOSTILE conn-flood "$HTTP_PORT" 127.0.0.2 "$FLOOD_CONNECTIONS" "$HOLD")
wait_loadgen
ORD_OK=$(jq -r .requests "$WORK/ordinary.json") ORD_ERR=$(jq -r .errors "$WORK/ordinary.json")
echo "flood: $FLOOD"
echo "ordinary client during the flood: $ORD_OK acknowledged, $ORD_ERR errors ($(pct "$ORD_OK" $((ORD_OK + ORD_ERR)))% ok) $(jq -c .errors_by_status "$WORK/ordinary.json"); peak fds $(sort -n "$WORK/fds" | tail -1); load $(loadavg)"
[[ $(jq -r '.attempted - .held' <<<"$FLOOD") -ge $((FLOOD_CONNECTIONS - 256)) ]] || miss "more than 256 flood connections held"
awk -v ok="$ORD_OK" -v e="$ORD_ERR" 'BEGIN { exit !(ok > 0 && ok / (ok + e) >= 0.99) }' || miss "ordinary client below 99% during the flood"

say "1b. $IDLE_CONNECTIONS idle mTLS + HTTP/2 connections from 127.0.0.3 (idle_timeout 10s)"
RSS_BEFORE=$(tail -1 "$WORK/rss")
IDLE=$($HOSTILE idle-flood "$HTTP_PORT" 127.0.0.3 "$IDLE_CONNECTIONS" 25 "$WORK/pki/ca.crt" "$WORK/pki/globex-api.crt" "$WORK/pki/globex-api.key")
echo "idle: $IDLE; VmRSS before $((RSS_BEFORE / 1024)) MiB, now $(( $(tail -1 "$WORK/rss") / 1024 )) MiB; load $(loadavg)"
[[ $(jq -r .still_open <<<"$IDLE") == 0 ]] || miss "idle connections still open after 25 s"

# ------------------------------------------------------------------ 2. PING / SETTINGS flood
say "2. HTTP/2 PING + SETTINGS flood, 3 connections in turn (at most 10 s each)"
for i in 1 2 3; do
  PF=$($HOSTILE ping-flood "$GRPC_PORT" "$WORK/pki/ca.crt" "$WORK/pki/globex-api.crt" "$WORK/pki/globex-api.key" 10)
  echo "ping flood $i: $PF"
  [[ $(jq -r .closed_after_s <<<"$PF") != null ]] || miss "PING flood connection $i not closed within 10 s"
done

# ------------------------------------------------------------------ 3. grpc-timeout
say "3. grpc-timeout: $GRPC_CALLS calls with 99999999H, $GRPC_CALLS with abc"
grpc_call() { # prints HTTP/grpc-status; curl may report exit 92 when the server resets the unread request body (RST_STREAM NO_ERROR)
  local headers
  headers=$(curl -s -o /dev/null -D - --http2 --cacert "$WORK/pki/ca.crt" --cert "$WORK/pki/client.crt" --key "$WORK/pki/client.key" \
    -H 'content-type: application/grpc' -H 'te: trailers' -H "grpc-timeout: $1" --data-binary @"$WORK/probe.grpc" \
    "https://127.0.0.1:$GRPC_PORT/opentelemetry.proto.collector.trace.v1.TraceService/Export" 2>/dev/null) || true
  tr -d '\r' <<<"$headers" | awk '/^HTTP/ { code = $2 } /^grpc-status:/ { st = $2 } END { print (code == "" ? "none" : code) "/" (st == "" ? "none" : st) }'
}
BEFORE_LINES=$(wc -l <"$WORK/collector.log")
for t in 99999999H abc; do
  for _ in $(seq "$GRPC_CALLS"); do grpc_call "$t"; done | sort | uniq -c | awk -v t="$t" '{ printf "grpc-timeout %s: %d x HTTP/grpc-status %s\n", t, $1, $2 }'
done | tee "$WORK/grpc.txt"
BAD_LOG=$(tail -n +"$((BEFORE_LINES + 1))" "$WORK/collector.log" | grep -cE ' (warn|fail|crit): |Exception' || true)
echo "collector log lines at warn/fail or with an exception during the grpc-timeout calls: $BAD_LOG"
grep -q ' 500/' "$WORK/grpc.txt" && miss "a grpc-timeout call got HTTP 500"
[[ $BAD_LOG == 0 ]] || miss "grpc-timeout calls logged above Debug"

# ------------------------------------------------------------------ 4. ratio bombs
say "4. $BOMBS gzip bombs (20 MB of zeros, ~20 KB on the wire)"
head -c 20000000 /dev/zero | gzip -9 >"$WORK/bomb.gz"
DU0=$(du -sb "$STORE" | cut -f1)
for _ in $(seq "$BOMBS"); do
  curl -s -o /dev/null -w '%{http_code}\n' --http2 --cacert "$WORK/pki/ca.crt" --cert "$WORK/pki/client.crt" --key "$WORK/pki/client.key" \
    -H 'content-type: application/x-protobuf' -H 'content-encoding: gzip' --data-binary @"$WORK/bomb.gz" "https://127.0.0.1:$HTTP_PORT/v1/traces" || true
done | sort | uniq -c | awk '{ printf "bomb: %d x HTTP %s\n", $1, $2 }' | tee "$WORK/bombs.txt"
DU1=$(du -sb "$STORE" | cut -f1)
echo "bomb body $(stat -c %s "$WORK/bomb.gz") bytes; store grew by $((DU1 - DU0)) bytes; VmRSS $(( $(tail -1 "$WORK/rss") / 1024 )) MiB; load $(loadavg)"
grep -qv ' 413$' "$WORK/bombs.txt" && miss "a bomb was not refused with 413"
[[ $((DU1 - DU0)) -lt 1000000 ]] || miss "the store grew by 1 MB or more during the bombs"

# ------------------------------------------------------------------ 5. tenant quota
say "5. acme (quota 50 req/s) at full speed, globex at 100 req/s, ${QUOTA_SECONDS}s"
dotnet "$TS_CLI" loadgen --ca "$WORK/pki/ca.crt" --cert "$WORK/pki/acme-api.crt" --key "$WORK/pki/acme-api.key" --json --quiet \
  --endpoint "https://127.0.0.1:$GRPC_PORT" --protocol grpc --duration "${QUOTA_SECONDS}s" --connections 2 --concurrency 4 --spans-per-request 20 >"$WORK/acme.json" 2>"$WORK/acme.err" &
ACME=$!; CHILDREN+=("$ACME")
dotnet "$TS_CLI" loadgen --ca "$WORK/pki/ca.crt" --cert "$WORK/pki/globex-api.crt" --key "$WORK/pki/globex-api.key" --json --quiet \
  --endpoint "https://127.0.0.1:$HTTP_PORT" --protocol http/protobuf --rate 100 --duration "${QUOTA_SECONDS}s" --connections 2 --concurrency 2 --spans-per-request 20 >"$WORK/globex.json" 2>"$WORK/globex.err" &
GLOBEX=$!; CHILDREN+=("$GLOBEX")
wait "$ACME" || true; forget "$ACME"; wait "$GLOBEX" || true; forget "$GLOBEX"
echo "acme: $(jq -r .requests_per_second "$WORK/acme.json") acknowledged req/s, $(jq -r .requests "$WORK/acme.json") acknowledged, refusals $(jq -c .errors_by_status "$WORK/acme.json")"
G_OK=$(jq -r .requests "$WORK/globex.json") G_ERR=$(jq -r .errors "$WORK/globex.json")
echo "globex: $G_OK acknowledged, $G_ERR errors ($(pct "$G_OK" $((G_OK + G_ERR)))% ok) $(jq -c .errors_by_status "$WORK/globex.json"); load $(loadavg)"
awk -v r="$(jq -r .requests_per_second "$WORK/acme.json")" 'BEGIN { exit !(r <= 60) }' || miss "acme above its quota"
awk -v ok="$G_OK" -v e="$G_ERR" 'BEGIN { exit !(ok > 0 && ok / (ok + e) >= 0.99) }' || miss "globex below 99% while acme floods"

# ------------------------------------------------------------------ end
kill -0 "$COLLECTOR_PID" 2>/dev/null || miss "the collector died"
curl -sf "http://127.0.0.1:$TEL_PORT/readyz" >/dev/null || miss "the collector is not ready at the end"
PEAK=$(sort -n "$WORK/rss" | tail -1)
echo "collector: alive, peak VmRSS $((PEAK / 1024)) MiB, peak fds $(sort -n "$WORK/fds" | tail -1)"
echo "refusals (traceseal_receiver_refused_total > 0): $(curl -s "http://127.0.0.1:$TEL_PORT/metrics" | awk '/^traceseal_receiver_refused_total/ && $NF > 0 { match($0, /reason="[^"]+"/); r[substr($0, RSTART + 8, RLENGTH - 9)] += $NF } END { for (k in r) printf "%s=%d ", k, r[k] }')"
echo "warn/fail lines in the whole collector log: $(grep -cE ' (warn|fail|crit): ' "$WORK/collector.log" || true), by event: $(grep -E ' (warn|fail|crit): ' "$WORK/collector.log" | sed -E 's/^[^ ]+ ([a-z]+): ([^ ]+).*/\1 \2/' | sort | uniq -c | awk '{ printf "%s x %s %s; ", $1, $2, $3 }')"
[[ $PEAK -lt $((1024 * 1024)) ]] || miss "peak RSS 1 GiB or more"
stop_collector
echo "load average at end $(loadavg)"
exit $FAILED
