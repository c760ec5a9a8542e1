"""Syscalls per message and per connection of the Zest and Envoy HBONE pairs, counted with
`strace -c -f` attached to each proxy process, on hbone_bench.py's topology and load tool.
Counts are far more stable than wall time on a shared machine: strace slows the proxies but
does not change which calls they make.

Usage (root, package root, after `swift build -c release --product zest`; Envoy from .venv):
  python3 Benchmarks/hbone/hbone_syscalls.py [--messages 2000] [--connects 300] [--trace 2]
      [--variants zest,envoy] [--zest PATH] [--zest-arg=--busy-poll-us=50]
Prints, per variant and per proxy: syscalls per 1 KiB ping-pong round trip and per sequential
connect-per-request, with the calls that make them up (idle calls, measured for 3 s first, are
subtracted). `--trace N` also prints the raw syscall sequence of N ping-pongs and N connects of
the Zest pair."""
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
import hbone_bench as hb  # noqa: E402  (topology, load tool and proxy launch)


def strace(pids, run, trace=False):
    """Runs `run()` with `strace -f` attached to each pid; returns {pid: Counter(name -> calls)}
    or, with `trace`, {pid: raw lines}."""
    d = tempfile.mkdtemp(prefix="zest-strace-")
    outs, tracers = {}, {}
    for pid in pids:
        outs[pid] = f"{d}/{pid}.txt"
        mode = ["-tt", "-e", "trace=!futex"] if trace else ["-c", "-U", "calls,name"]
        tracers[pid] = subprocess.Popen(["strace", "-f", "-qq", *mode, "-o", outs[pid], "-p", str(pid)],
                                        stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # strace attaches asynchronously
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
        counts = collections.Counter()
        for line in lines:
            parts = line.split()
            if not trace and len(parts) == 2 and parts[0].isdigit() and parts[1] != "total":
                counts[parts[1]] += int(parts[0])
        result[pid] = lines if trace else counts
    shutil.rmtree(d, ignore_errors=True)
    return result


def report(title, counts, idle, idle_secs, elapsed, n):
    print(f"\n### {title}\n")
    for name, c in counts.items():
        net = collections.Counter({k: max(v - idle[name][k] * elapsed / idle_secs, 0) for k, v in c.items()})
        parts = ", ".join(f"{k} {v / n:.2f}" for k, v in net.most_common() if v / n >= 0.01)
        print(f"- {name}: {sum(net.values()) / n:.2f} syscalls per op ({parts})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--connects", type=int, default=300)
    ap.add_argument("--trace", type=int, default=0)
    ap.add_argument("--variants", default="zest,envoy")
    ap.add_argument("--zest-arg", action="append", default=[])
    ap.add_argument("--zest", help="zest binary (default .build/release/zest)")
    o = ap.parse_args()
    o.pin = "none"
    zest, envoy = hb.find_binaries(o.zest)
    hb.build_load_tool()
    with hb.launched(o, zest, envoy, "zest-hbone-sys-") as bench:
        for v in o.variants.split(","):
            names = dict(zip(bench.pids(v), hb.PROXIES[v]))
            hb.peer("pingpong", v, 20, 1024)  # the pooled connection exists before counting
            idle_secs = 3.0
            idle = {names[p]: c for p, c in strace(list(names), lambda: time.sleep(idle_secs)).items()}
            for op, n, args, label in (("pingpong", o.messages, (o.messages, 1024), "1 KiB ping-pong (per round trip)"),
                                       ("connect", o.connects, (o.connects,), "connect-per-request (per connection)")):
                t0 = time.monotonic()
                raw = strace(list(names), lambda: hb.peer(op, v, *args))
                elapsed = time.monotonic() - t0
                report(f"{v}: {label}, {n} ops", {names[p]: c for p, c in raw.items()}, idle, idle_secs, elapsed, n)
            if o.trace and v == "zest":
                for op, args in (("pingpong", (o.trace, 1024)), ("connect", (o.trace,))):
                    for p, lines in strace(list(names), lambda: hb.peer(op, v, *args), trace=True).items():
                        print(f"\n#### trace {op} ×{o.trace}: {names[p]}\n```")
                        print("\n".join(lines))
                        print("```")
        bench.alive()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("hbone_syscalls: terminated"))
    try:
        main()
    except hb.BenchError as err:
        sys.exit(f"hbone_syscalls: {err}")
