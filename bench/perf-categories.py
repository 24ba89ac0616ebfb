#!/usr/bin/env python3
"""bench/perf-categories.py — where a profiled server's CPU goes, in a few exclusive categories.

    perf script -i perf.data -F comm,tid,ip,sym,dso | bench/perf-categories.py

Reads `perf script` call stacks (leaf first) from a `perf record -g` of one .NET server (JIT frames named by
DOTNET_PerfMapEnabled=1) and puts every sample into the first category below that matches, so the shares add
up to 100 %. Rules that look at the whole stack come first (JIT, spinning, page faults, disk, network,
blocking), then the leaf's library (OpenSSL, the runtime), then the nearest managed frame's namespace.
A second table counts samples with a component anywhere on the stack (inclusive; these overlap).
"""
import re
import sys
from collections import Counter

FRAME = re.compile(r"\s*[0-9a-f]+ (.*) \((.*)\)$")


def samples(lines):
    stack = None
    for line in lines:
        if not line.strip():
            if stack:
                yield stack
            stack = None
        elif not line[0].isspace():
            stack = []
        elif stack is not None:
            m = FRAME.match(line.rstrip())
            if m:
                stack.append((m.group(1), m.group(2)))
    if stack:
        yield stack


def any_sym(stack, *needles):
    return any(n in sym for sym, _ in stack for n in needles)


KERNEL_PAGE_FAULT = ("asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault", "handle_mm_fault")
DISK = ("fsync", "fdatasync", "ext4_sync_file", "jbd2", "blk_mq_", "virtqueue_notify", "submit_bio")
FILE_WRITE = ("vfs_write", "ext4_buffered_write_iter", "ext4_file_write_iter", "__x64_sys_pwrite64")
NETWORK = ("tcp_", "sock_", "__sys_sendto", "__sys_recvfrom", "__libc_recv", "__libc_send", "sendmsg", "recvmsg",
           "net_rx_action", "__netif_", "ip_finish_output", "loopback_xmit")
BLOCKING = ("futex", "epoll", "ep_poll", "schedule", "finish_task_switch", "pthread_cond", "try_to_wake_up")

# nearest managed frame's namespace -> category (first match from the leaf up)
MANAGED = [
    ("TraceSeal.Otlp.Validation", "OTLP validation (managed)"),
    ("TraceSeal.Storage", "sealed log, WAL, index (managed)"),
    ("TraceSeal.Collector.Storage", "sealed log, WAL, index (managed)"),
    ("TraceSeal.Sealing", "sealed log, WAL, index (managed)"),
    ("TraceSeal.", "receivers, admission, pipeline (managed)"),
    ("Microsoft.AspNetCore", "Kestrel HTTP/1.1, HTTP/2, hosting (managed)"),
    ("System.IO.Pipelines", "Kestrel HTTP/1.1, HTTP/2, hosting (managed)"),
    ("System.Net.Http.HPack", "Kestrel HTTP/1.1, HTTP/2, hosting (managed)"),
    ("System.Net.Security", "SslStream (managed)"),
    ("System.Net.Sockets", "sockets (managed)"),
    ("System.Threading", "thread pool, tasks, async (managed)"),
]

INCLUSIVE = [
    ("TraceSeal.Otlp.Validation", "OTLP validation"),
    ("TraceSeal.Collector.Storage.Wal", "WAL policy (TenantStore: append, frame callbacks, cut loop)"),
    ("TraceSeal.Storage.Log.GroupCommitLog", "group-commit writer loop (GroupCommitLog)"),
    ("TraceSeal.Storage.Log.LogSegmentWriter", "sealed log segment writer (LogSegmentWriter)"),
    ("TraceSeal.Collector.Storage.Index", "index building"),
    ("TraceSeal.Collector.Receivers", "receivers"),
    ("TraceSeal.Collector.Processors", "processors (memory_limiter, batch)"),
    ("Microsoft.AspNetCore.Server.Kestrel", "Kestrel"),
    ("System.Net.Security", "SslStream"),
    ("Interop+Sys::FSync", "fsync (managed call)"),
]


def category(stack):
    if any("libclrjit" in dso for _, dso in stack):
        return "JIT compiler"
    if any_sym(stack, "LowLevelSpinWaiter", "__sched_yield", "Thread::Yield", "SpinWait"):
        return "spinning (thread pool / locks, sched_yield)"
    if any(sym in KERNEL_PAGE_FAULT for sym, _ in stack):
        return "page faults"
    if any_sym(stack, *DISK):
        return "fsync and block I/O (kernel)"
    if any_sym(stack, *FILE_WRITE):
        return "file writes into the page cache (kernel)"
    if any_sym(stack, *NETWORK):
        return "TCP on loopback: send/recv syscalls (kernel)"
    if any_sym(stack, *BLOCKING):
        return "blocking and wake-ups: futex, epoll, context switches"
    leaf_sym, leaf_dso = stack[0]
    if "libcrypto" in leaf_dso or "libssl" in leaf_dso:
        # OpenSSL's AES-GCM assembly has no frame pointers or symbols, so most of these stacks stop in it.
        if any_sym(stack, "SslStream", "Interop+Ssl", "SafeSslHandle"):
            return "TLS records and handshakes (OpenSSL)"
        if any_sym(stack, "TraceSeal.Storage", "TraceSeal.Sealing", "TraceSeal.Collector.Storage"):
            return "sealing: AES-GCM, ECDH, HKDF (OpenSSL)"
        return "OpenSSL, caller unknown: TLS record decryption or sealing AES-GCM"
    if "libcoreclr" in leaf_dso:
        return "runtime: GC, allocation, casts, stubs (libcoreclr)"
    if "kernel" in leaf_dso:
        return "other kernel"
    for sym, _ in stack:
        for prefix, name in MANAGED:
            if "] " + prefix in sym or sym.startswith(prefix):
                return name
    return "other (unnamed native or managed frames)"


def main():
    total = 0
    cats = Counter()
    incl = Counter()
    for stack in samples(sys.stdin):
        total += 1
        cats[category(stack)] += 1
        for needle, name in INCLUSIVE:
            if any(needle in sym for sym, _ in stack):
                incl[name] += 1
    if total == 0:
        print("no samples")
        return
    print(f"{total} samples; exclusive categories (first rule that matches the stack):")
    for name, n in cats.most_common():
        print(f"  {n / total * 100:5.1f} %  {name}")
    print("inclusive (component anywhere on the stack; overlapping):")
    for name, n in incl.most_common():
        print(f"  {n / total * 100:5.1f} %  {name}")


if __name__ == "__main__":
    main()
