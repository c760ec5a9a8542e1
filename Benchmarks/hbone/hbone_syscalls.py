"""Syscalls per message and per connection of the Zest and Envoy HBONE pairs, counted with
`strace -c -f` attached to each proxy process (the same netns topology as hbone_bench.py).
Counts are far more stable than wall time on a shared machine: strace slows the proxies but
does not change which calls they make.

Usage (root, package root, after `swift build -c release --product zest`; Envoy from .venv):
  python3 Benchmarks/hbone/hbone_syscalls.py [--messages 2000] [--connects 300] [--trace 3]
Prints, per variant and per proxy: syscalls per 1 KiB ping-pong (both directions) and per
sequential connect-per-request, with the calls that make them up. `--trace N` also prints the
raw syscall sequence of N ping-pongs and N connects of the Zest pair."""
import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hbone_bench as hb  # noqa: E402  (topology, certificates and Envoy configs)


def strace_counts(pids, run, trace=False):
    """Runs `run()` with `strace -f` attached to each pid; returns {pid: Counter(name -> calls)}
    (or, with `trace`, {pid: list of raw lines})."""
    outs, tracers = {}, {}
    d = tempfile.mkdtemp(prefix="zest-strace-")
    for pid in pids:
        outs[pid] = f"{d}/{pid}.txt"
        args = ["strace", "-f", "-qq", "-o", outs[pid], "-p", str(pid)]
        args[1:1] = ["-tt", "-e", "trace=!futex"] if trace else ["-c", "-U", "calls,name"]
        tracers[pid] = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    try:
        run()
    finally:
        time.sleep(0.3)
        for t in tracers.values():
            t.send_signal(signal.SIGINT)
        for t in tracers.values():
            t.wait(10)
    result = {}
    for pid, path in outs.items():
        with open(path) as f:
            lines = f.read().splitlines()
        if trace:
            result[pid] = lines
            continue
        c = collections.Counter()
        for line in lines:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1] != "total":
                c[parts[1]] += int(parts[0])
        result[pid] = c
    shutil.rmtree(d, ignore_errors=True)
    return result


def baseline(pids, seconds):
    """Idle syscalls per second (timers, keepalive) to subtract."""
    return strace_counts(pids, lambda: time.sleep(seconds))


def report(title, counts, idle, idle_secs, elapsed, n):
    print(f"\n### {title}\n")
    for name, c in counts.items():
        scaled = collections.Counter({k: max(v - idle[name][k] * elapsed / idle_secs, 0) for k, v in c.items()})
        total = sum(scaled.values()) / n
        top = ", ".join(f"{k} {v / n:.2f}" for k, v in scaled.most_common() if v / n >= 0.01)
        print(f"- {name}: {total:.2f} syscalls per op ({top})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--connects", type=int, default=300)
    ap.add_argument("--trace", type=int, default=0)
    ap.add_argument("--variants", default="zest,envoy")
    opts = ap.parse_args()
    variants = opts.variants.split(",")
    zest = os.path.join(hb.ROOT, ".build/release/zest")
    d = tempfile.mkdtemp(prefix="zest-hbone-sys-")
    procs = {}
    A, B = hb.A, hb.B
    try:
        hb.sh("ip", "netns", "add", A)
        hb.sh("ip", "netns", "add", B)
        for ns in (A, B):
            hb.sh("ip", "-n", ns, "link", "set", "lo", "up")
        hb.sh("ip", "link", "add", "vbha", "netns", A, "type", "veth", "peer", "name", "vbhb", "netns", B)
        hb.sh("ip", "-n", A, "addr", "add", f"{hb.ADDR_A}/24", "dev", "vbha")
        hb.sh("ip", "-n", B, "addr", "add", f"{hb.ADDR_B}/24", "dev", "vbhb")
        hb.sh("ip", "-n", A, "link", "set", "vbha", "up")
        hb.sh("ip", "-n", B, "link", "set", "vbhb", "up")
        hb.certs(d)
        hb.envoy_configs(d)

        def start(name, ns, *argv):
            log = open(f"{d}/{name}.log", "w")
            procs[name] = subprocess.Popen(hb.netns(ns, *argv), stdout=log, stderr=log, stdin=subprocess.DEVNULL)

        start("backend", B, "python3", hb.PEERS, "backend", hb.ADDR_B, "8080")
        hb.wait_port(B, hb.ADDR_B, 8080)
        if "zest" in variants:
            start("zest-server", B, zest, "tunnel-server", "--listen", f"{hb.ADDR_B}:15008", "--cert", f"{d}/b.pem",
                  "--key", f"{d}/b.key", "--ca", f"{d}/ca.pem", "--workers", "1", "--drain-seconds", "0", "--aes128-only")
            hb.wait_port(B, hb.ADDR_B, 15008)
            start("zest-client", A, zest, "tunnel", "--listen", "127.0.0.1:9001", "--peer", f"{hb.ADDR_B}:15008",
                  "--authority", hb.TARGET, "--cert", f"{d}/a.pem", "--key", f"{d}/a.key", "--ca", f"{d}/ca.pem",
                  "--expect-identity", hb.ID_B, "--workers", "1", "--aes128-only")
            hb.wait_port(A, "127.0.0.1", 9001)
        if "envoy" in variants:
            envoy = __import__("glob").glob(os.path.join(hb.ROOT, ".venv/lib/python3*/site-packages/envoy/_bin/envoy"))[0]
            start("envoy-term", B, envoy, "-c", f"{d}/term.yaml", "--concurrency", "1", "--disable-hot-restart",
                  "--base-id", "71", "-l", "error")
            hb.wait_port(B, hb.ADDR_B, 15009)
            start("envoy-orig", A, envoy, "-c", f"{d}/orig.yaml", "--concurrency", "1", "--disable-hot-restart",
                  "--base-id", "72", "-l", "error")
            hb.wait_port(A, "127.0.0.1", 9002)
        pairs = {"zest": ("zest-client", "zest-server"), "envoy": ("envoy-orig", "envoy-term")}
        time.sleep(1)
        for v in variants:
            names = pairs[v]
            pids = {procs[n].pid: n for n in names}
            hb.peer("pingpong", v, 20, 1024)  # warm the pooled connection
            idle_secs = 3.0
            idle_raw = baseline(list(pids), idle_secs)
            idle = {pids[p]: c for p, c in idle_raw.items()}
            for op, n, args in (("pingpong", opts.messages, (opts.messages, 1024)), ("connect", opts.connects, (opts.connects,))):
                t0 = time.monotonic()
                raw = strace_counts(list(pids), lambda: hb.peer(op, v, *args))
                elapsed = time.monotonic() - t0
                counts = {pids[p]: c for p, c in raw.items()}
                label = "1 KiB ping-pong (per round trip)" if op == "pingpong" else "connect-per-request (per connection)"
                report(f"{v}: {label}, {n} ops", counts, idle, idle_secs, elapsed, n)
            if opts.trace and v == "zest":
                for op, args in (("pingpong", (opts.trace, 1024)), ("connect", (opts.trace,))):
                    lines = strace_counts(list(pids), lambda: hb.peer(op, v, *args), trace=True)
                    for p, ls in lines.items():
                        print(f"\n#### trace {op} ×{opts.trace}: {pids[p]}\n```")
                        print("\n".join(ls))
                        print("```")
    finally:
        for pr in procs.values():
            pr.terminate()
        for pr in procs.values():
            try:
                pr.wait(5)
            except subprocess.TimeoutExpired:
                pr.kill()
        for ns in (A, B):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
