"""A/B of two `zest` binaries on the HBONE bulk path, in one run (docs/bench/tls-io.md).

Same topology as hbone_bench.py (namespace A: client and client-side proxy; namespace B:
server-side proxy and backend; a veth pair between), but two Zest pairs side by side, one per
binary, and no Envoy. Rounds alternate between the pairs. Per pair it reports the median
throughput and proxy CPU-seconds per GB (utime+stime of both proxies from /proc), then one more
transfer per pair under `perf stat` counting syscalls of each proxy, given per MB moved.

Usage (root, package root):
  python3 Benchmarks/hbone/tls_io_ab.py OLD_BINARY NEW_BINARY [--rounds 5] [--gib 1]"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hbone_bench import ADDR_A, ADDR_B, ID_B, PEERS, TARGET, certs, cpu_seconds, netns, sh, wait_port  # noqa: E402

A, B = f"ztia{os.getpid() % 10000}", f"ztib{os.getpid() % 10000}"
SYSCALLS = ["read", "write", "sendto", "recvfrom", "writev", "readv", "epoll_wait", "epoll_pwait", "splice"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--gib", type=float, default=1.0)
    opts = ap.parse_args()
    d = tempfile.mkdtemp(prefix="zest-tlsio-ab-")
    procs = {}
    try:
        sh("ip", "netns", "add", A)
        sh("ip", "netns", "add", B)
        for ns in (A, B):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "vtia", "netns", A, "type", "veth", "peer", "name", "vtib", "netns", B)
        sh("ip", "-n", A, "addr", "add", f"{ADDR_A}/24", "dev", "vtia")
        sh("ip", "-n", B, "addr", "add", f"{ADDR_B}/24", "dev", "vtib")
        sh("ip", "-n", A, "link", "set", "vtia", "up")
        sh("ip", "-n", B, "link", "set", "vtib", "up")
        certs(d)

        def start(name, ns, *argv):
            log = open(f"{d}/{name}.log", "w")
            procs[name] = subprocess.Popen(netns(ns, *argv), stdout=log, stderr=log, stdin=subprocess.DEVNULL)

        start("backend", B, "python3", PEERS, "backend", ADDR_B, "8080")
        variants = {"old": (opts.old, 9001, 15008), "new": (opts.new, 9003, 15010)}
        for v, (binary, _, hport) in variants.items():
            start(f"{v}-server", B, binary, "tunnel-server", "--listen", f"{ADDR_B}:{hport}", "--cert", f"{d}/b.pem",
                  "--key", f"{d}/b.key", "--ca", f"{d}/ca.pem", "--workers", "1", "--drain-seconds", "0", "--aes128-only")
        for host, port in ((ADDR_B, 8080), (ADDR_B, 15008), (ADDR_B, 15010)):
            wait_port(B, host, port)
        for v, (binary, lport, hport) in variants.items():
            start(f"{v}-client", A, binary, "tunnel", "--listen", f"127.0.0.1:{lport}", "--peer", f"{ADDR_B}:{hport}",
                  "--authority", TARGET, "--cert", f"{d}/a.pem", "--key", f"{d}/a.key", "--ca", f"{d}/ca.pem",
                  "--expect-identity", ID_B, "--workers", "1", "--aes128-only")
            wait_port(A, "127.0.0.1", lport)
        pids = {v: [procs[f"{v}-client"].pid, procs[f"{v}-server"].pid] for v in variants}
        count = int(opts.gib * (1 << 30))

        def transfer(v):
            out = sh(*netns(A, "python3", PEERS, "throughput", "127.0.0.1", str(variants[v][1]), str(count)))
            return float(out.split()[0])

        res = {v: {"mbps": [], "cpu": []} for v in variants}
        for _ in range(opts.rounds):
            for v in variants:
                before = sum(cpu_seconds(p) for p in pids[v])
                secs = transfer(v)
                after = sum(cpu_seconds(p) for p in pids[v])
                res[v]["mbps"].append(count / secs / 1e6)
                res[v]["cpu"].append((after - before) / (count / 1e9))

        events = ",".join(f"syscalls:sys_enter_{s}" for s in SYSCALLS)
        calls = {}
        for v in variants:
            for side, pid in zip(("client", "server"), pids[v]):
                perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", events, "-p", str(pid), "-o", f"{d}/perf-{v}-{side}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                procs[f"perf-{v}-{side}"] = perf
            time.sleep(0.5)
            transfer(v)
            for side in ("client", "server"):
                perf = procs.pop(f"perf-{v}-{side}")
                perf.send_signal(2)
                perf.wait(10)
                counts = {}
                with open(f"{d}/perf-{v}-{side}") as f:
                    for line in f:
                        parts = line.strip().split(",")
                        if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_") and parts[0].isdigit():
                            counts[parts[2].removeprefix("syscalls:sys_enter_")] = int(parts[0])
                calls[(v, side)] = counts

        mb = count / 1e6
        print(f"TLS I/O A/B: {opts.rounds} alternating rounds, {opts.gib} GiB per transfer; medians\n")
        print("| | old | new | new / old |")
        print("|---|---|---|---|")
        o, n = ({k: statistics.median(x) for k, x in res[v].items()} for v in ("old", "new"))
        print(f"| throughput (MB/s) | {o['mbps']:.0f} | {n['mbps']:.0f} | {n['mbps'] / o['mbps']:.2f}× |")
        print(f"| proxy CPU-seconds per GB (both) | {o['cpu']:.2f} | {n['cpu']:.2f} | {n['cpu'] / o['cpu']:.2f}× |")
        for side in ("client", "server"):
            for s in SYSCALLS:
                a, b = calls[("old", side)].get(s, 0) / mb, calls[("new", side)].get(s, 0) / mb
                if a or b:
                    ratio = f"{b / a:.2f}×" if a else "–"
                    print(f"| {side} proxy {s}(2) per MB | {a:.1f} | {b:.1f} | {ratio} |")
        print("\nraw:", {v: {k: [round(x, 2) for x in xs] for k, xs in r.items()} for v, r in res.items()})
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
