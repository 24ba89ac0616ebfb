#!/usr/bin/env python3
"""Hostile clients with a valid certificate, on loopback, bounded (bench/reliability/hostile.sh drives this).

Each subcommand prints one JSON object on stdout. Standard library only (socket, ssl, threading).
  conn-flood   PORT SOURCE N HOLD_S      raw TCP connections from SOURCE (no TLS); how many the server closed at once
  idle-flood   PORT SOURCE N WAIT_S CA CERT KEY   mTLS + HTTP/2 preface, then silence; when the server closes them
  ping-flood   PORT CA CERT KEY MAX_S    PINGs + SETTINGS as fast as possible on one connection; frames until closed
"""
import json, socket, ssl, struct, sys, threading, time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, payload=b"", flags=0):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", 0) + payload


def tls_context(ca, cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    return ctx


def closed_within(sock, seconds):
    """Seconds until the peer closed (EOF or reset), or None if still open after `seconds`."""
    start = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return time.monotonic() - start
    return None


def conn_flood(port, source, n, hold):
    socks, refused_at_connect = [], 0
    for _ in range(n):
        s = socket.socket()
        try:
            s.bind((source, 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            socks.append(s)
        except OSError:
            refused_at_connect += 1
            s.close()
    # A connection over the limit is closed at accept: within a second. The admitted ones stay until the handshake timeout.
    closed_fast = [0]
    lock = threading.Lock()

    def watch(s):
        t = closed_within(s, 1.5)
        if t is not None:
            with lock:
                closed_fast[0] += 1

    threads = [threading.Thread(target=watch, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(max(0.0, hold - 1.5))  # the attacker holds what it got, while the ordinary client runs
    for s in socks:
        s.close()
    print(json.dumps({"attempted": n, "refused_at_connect": refused_at_connect, "closed_within_1_5s": closed_fast[0],
                      "held": len(socks) - closed_fast[0]}))


def idle_flood(port, source, n, wait, ca, cert, key):
    ctx = tls_context(ca, cert, key)
    conns, failed = [], 0
    for _ in range(n):
        raw = socket.socket()
        try:
            raw.bind((source, 0))
            raw.settimeout(10)
            raw.connect(("127.0.0.1", port))
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            s.sendall(PREFACE + frame(0x4))
            conns.append(s)
        except OSError:
            failed += 1
            raw.close()
    times = [None] * len(conns)

    def watch(i):
        times[i] = closed_within(conns[i], wait)

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(len(conns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    closed = sorted(t for t in times if t is not None)
    for s in conns:
        s.close()
    print(json.dumps({"attempted": n, "established": len(conns), "failed": failed, "closed": len(closed),
                      "still_open": len(conns) - len(closed),
                      "closed_after_s_min": round(closed[0], 1) if closed else None,
                      "closed_after_s_max": round(closed[-1], 1) if closed else None}))


def ping_flood(port, ca, cert, key, max_s):
    ctx = tls_context(ca, cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(PREFACE + frame(0x4))
    burst = b"".join(frame(0x6, struct.pack(">Q", i)) + frame(0x4) for i in range(50))
    sent, start, closed_after = 0, time.monotonic(), None
    s.settimeout(0.01)
    while time.monotonic() - start < max_s:
        try:
            s.sendall(burst)
            sent += 100
            try:
                if s.recv(65536) == b"":
                    closed_after = time.monotonic() - start
                    break
            except (socket.timeout, ssl.SSLWantReadError):
                pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            closed_after = time.monotonic() - start
            break
    s.close()
    print(json.dumps({"frames_sent": sent, "closed_after_s": round(closed_after, 3) if closed_after is not None else None}))


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "conn-flood":
        conn_flood(int(a[0]), a[1], int(a[2]), float(a[3]))
    elif cmd == "idle-flood":
        idle_flood(int(a[0]), a[1], int(a[2]), float(a[3]), a[4], a[5], a[6])
    elif cmd == "ping-flood":
        ping_flood(int(a[0]), a[1], a[2], a[3], float(a[4]))
    else:
        sys.exit("unknown command " + cmd)
