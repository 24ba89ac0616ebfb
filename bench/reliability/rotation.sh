#!/usr/bin/env bash
# Certificate rotation under load: zero failed requests, and new handshakes see the new certificate.
#
# A collector (mTLS OTLP/gRPC + OTLP/HTTP, sealed_store with durability fsync, no memory_limiter) takes load from
#   - loadgen A: http/protobuf over HTTP/2, --rate RATE_HTTP, 4 connections x 4 streams (long-lived connections),
#   - loadgen B: grpc, --rate RATE_GRPC, 2 connections x 4 streams (both 10 spans per request),
#   - a handshake prober: a new curl connection (new TLS handshake, client certificate) every 0.25 s sending one
#     span over OTLP/HTTP,
# while every ROTATE_EVERY seconds for ROTATE_SECONDS a loop re-issues server.crt/server.key from the same CA with
# openssl (new key, new random serial, validity 30+i days so the expiry gauge moves too), writes each to a temp
# file and renames it over the old one (key first, then certificate), and rewrites client_ca_file (same CA, new
# file renamed over the old). About 1.5 s after each rotation `openssl s_client` makes a new handshake and
# records the serial the server presented; /metrics' traceseal_tls_certificate_expiry_seconds is read too.
#
# Targets: failed requests = 0 (loadgen A + B errors + prober failures); every rotation's serial seen by a new
# handshake before the next rotation. Exit 1 when one is missed.
#
# Usage: bench/reliability/rotation.sh   Environment: ROTATE_EVERY (2), ROTATE_SECONDS (30), RATE_HTTP (300),
#   RATE_GRPC (100); lib.sh: TS_CLI, RELI_PORT_BASE. Bounded: 300 s in all.
RELI_MAX_SECONDS=300
source "$(dirname "$0")/lib.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,19p' "$0"; exit 0; }

ROTATE_EVERY=${ROTATE_EVERY:-2} ROTATE_SECONDS=${ROTATE_SECONDS:-30}
RATE_HTTP=${RATE_HTTP:-300} RATE_GRPC=${RATE_GRPC:-100}
LOAD_SECONDS=$((ROTATE_SECONDS + 4))

ensure_cli
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }
pki_and_keys
P=$WORK/pki
cp "$P/ca.crt" "$P/client-ca.pem"
export CLIENT_CA_FILE=$P/client-ca.pem
LOAD0=$(loadavg)
echo "machine: $(nproc) cores, $(uname -sr); load average at start $LOAD0"

write_config "$WORK/rotation.yaml" "$WORK/store" ""
start_collector "$WORK/rotation.yaml" "$WORK/collector.log"

serial_now() { # the serial of the certificate a new handshake gets, in lower-case hex
  openssl s_client -connect "127.0.0.1:$1" -alpn h2 -servername localhost -CAfile "$P/ca.crt" -cert "$P/client.crt" -key "$P/client.key" \
    </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//'
}
expiry() { metric 'traceseal_tls_certificate_expiry_seconds{receiver="otlp",protocol="http"}'; }

cat >"$WORK/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF

SERIAL0=$(serial_now "$HTTP_PORT"); EXPIRY0=$(expiry)
say "load for ${LOAD_SECONDS}s: http/protobuf --rate $RATE_HTTP, grpc --rate $RATE_GRPC, a new handshake every 0.25 s; rotation every ${ROTATE_EVERY}s for ${ROTATE_SECONDS}s"
loadgen_bg "$WORK/http.json" --endpoint "https://127.0.0.1:$HTTP_PORT" --protocol http/protobuf --duration "${LOAD_SECONDS}s" --rate "$RATE_HTTP" --spans-per-request 10
LG_HTTP=$LOADGEN_PID
loadgen_bg "$WORK/grpc.json" --endpoint "https://127.0.0.1:$GRPC_PORT" --protocol grpc --duration "${LOAD_SECONDS}s" --rate "$RATE_GRPC" --connections 2 --spans-per-request 10
LG_GRPC=$LOADGEN_PID

probe_bodies "$WORK"
( end=$((SECONDS + LOAD_SECONDS))
  while ((SECONDS < end)); do
    code=$(curl -s --cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key" --max-time 5 -o /dev/null -w '%{http_code} %{ssl_verify_result}' \
      -H 'content-type: application/x-protobuf' --data-binary @"$WORK/probe.pb" "https://127.0.0.1:$HTTP_PORT/v1/traces" 2>/dev/null) || code="$code curl-exit-$?"
    echo "$(date +%s.%N | cut -c1-14) $code"
    sleep 0.25
  done ) >"$WORK/probes.txt" &
PROBER=$!
CHILDREN+=("$PROBER")

# Rotation loop (in this shell): rotation i at about i * ROTATE_EVERY s.
: >"$WORK/rotations.tsv"
sleep 1
i=0 start=$SECONDS
while ((SECONDS - start < ROTATE_SECONDS)); do
  i=$((i + 1))
  serial=$(openssl rand -hex 15 | sed 's/^0*//')
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$P/server.key.new" 2>/dev/null
  chmod 600 "$P/server.key.new"
  openssl req -new -key "$P/server.key.new" -subj /CN=localhost -out "$WORK/server.csr" 2>/dev/null
  openssl x509 -req -in "$WORK/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -set_serial "0x$serial" -days $((30 + i)) \
    -sha256 -extfile "$WORK/server.ext" -out "$P/server.crt.new" 2>/dev/null
  cp "$P/ca.crt" "$P/client-ca.pem.new"
  t0=$(date +%s.%N | cut -c1-14)
  mv -f "$P/server.key.new" "$P/server.key"
  mv -f "$P/server.crt.new" "$P/server.crt"
  mv -f "$P/client-ca.pem.new" "$P/client-ca.pem"
  sleep 1.5
  seen=$(serial_now "$HTTP_PORT"); seen_grpc=$(serial_now "$GRPC_PORT")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$t0" "$serial" "$seen" "$seen_grpc" "$(expiry)" >>"$WORK/rotations.tsv"
  sleep "$(awk -v e="$ROTATE_EVERY" 'BEGIN { s = e - 1.5 - 0.3; if (s < 0) s = 0; print s }')"
done

wait "$LG_HTTP" 2>/dev/null || true; forget "$LG_HTTP"
wait "$LG_GRPC" 2>/dev/null || true; forget "$LG_GRPC"
wait "$PROBER" 2>/dev/null || true; forget "$PROBER"
LOAD1=$(loadavg)
HANDSHAKE_FAILURES=$(curl -s "http://127.0.0.1:$TEL_PORT/metrics" | awk '/^traceseal_tls_handshake_failures_total/ { s += $NF } END { print s + 0 }')
RELOAD_WARNINGS=$(grep -c -i -E 'warn.*(certificate|tls|reload)|keeps? the last good' "$WORK/collector.log" || true)
stop_collector
read -r STORED_SPANS STORED_TRACES QUERY_RC PROBE_SPANS < <(stored_counts "$WORK/store")

# ------------------------------------------------------------------ table
echo
echo "rotation every ${ROTATE_EVERY}s for ${ROTATE_SECONDS}s under load; load average (1/5/15 min): start $LOAD0, end $LOAD1 on $(nproc) CPUs"
printf '%-3s %-32s %-32s %-32s %14s %s\n' '#' 'issued serial' 'new handshake (http)' 'new handshake (grpc)' 'expiry gauge s' 'verdict'
seen_ok=0 n=0
while IFS=$'\t' read -r idx _ serial seen seen_grpc exp; do
  n=$((n + 1))
  if [[ $seen == "$serial" && $seen_grpc == "$serial" ]]; then ok=new; seen_ok=$((seen_ok + 1)); else ok=OLD/none; fi
  printf '%-3s %-32s %-32s %-32s %14s %s\n' "$idx" "$serial" "${seen:-none}" "${seen_grpc:-none}" "$exp" "$ok"
done <"$WORK/rotations.tsv"
echo "serial before the first rotation: $SERIAL0 (expiry gauge $EXPIRY0 s)"
http_err=$(jq -r '.errors' "$WORK/http.json" 2>/dev/null || echo missing)
grpc_err=$(jq -r '.errors' "$WORK/grpc.json" 2>/dev/null || echo missing)
probes=$(wc -l <"$WORK/probes.txt"); probe_fail=$(grep -v -c ' 200 0$' "$WORK/probes.txt" || true)
jq -r '"loadgen A http/protobuf: \(.requests) acknowledged (\(.requests_per_second) req/s, p50 \(.latency_us.p50/1000) ms, p99 \(.latency_us.p99/1000) ms), errors \(.errors) \(.errors_by_status)"' "$WORK/http.json"
jq -r '"loadgen B grpc:          \(.requests) acknowledged (\(.requests_per_second) req/s, p50 \(.latency_us.p50/1000) ms, p99 \(.latency_us.p99/1000) ms), errors \(.errors) \(.errors_by_status)"' "$WORK/grpc.json"
echo "handshake prober: $probes new connections, $probe_fail not answered 200 with a verified server certificate$( ((probe_fail > 0)) && printf ': %s' "$(grep -v ' 200 0$' "$WORK/probes.txt" | awk '{ $1 = ""; print }' | sort | uniq -c | paste -sd';' -)")"
echo "collector: TLS handshake failures counted $HANDSHAKE_FAILURES, certificate/reload warnings in its log $RELOAD_WARNINGS, SIGTERM exit $STOP_RC"
ack=$(( $(jq -r '.requests' "$WORK/http.json") + $(jq -r '.requests' "$WORK/grpc.json") ))
echo "store: $STORED_TRACES distinct traces read back (query exit $QUERY_RC) for $ack loadgen requests acknowledged (+ the probe trace)"
failed=$((http_err + grpc_err + probe_fail))
printf '%-40s %10s %10s %s\n' check measured target verdict
printf '%-40s %10s %10s %s\n' "failed requests (A + B + prober)" "$failed" 0 "$( ((failed == 0)) && echo met || echo MISSED)"
printf '%-40s %10s %10s %s\n' "rotations seen by new handshakes" "$seen_ok/$n" "$n/$n" "$( ((seen_ok == n && n > 0)) && echo met || echo MISSED)"
missing=$(( ack - (STORED_TRACES - (PROBE_SPANS > 0 ? 1 : 0)) )); ((missing < 0)) && missing=0
printf '%-40s %10s %10s %s\n' "acknowledged traces missing" "$missing" 0 "$( ((missing == 0 && QUERY_RC == 0)) && echo met || echo MISSED)"
if ((failed == 0 && seen_ok == n && n > 0 && missing == 0 && QUERY_RC == 0)); then echo PASS; exit 0; fi
echo "FAIL: target missed (see the table)"
exit 1
