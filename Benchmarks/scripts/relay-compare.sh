#!/usr/bin/env bash
# Compares, interleaved in one run, ways through loopback on one bulk stream and on 64:
#   plain    sender -> sink directly (the cost of one loopback TCP hop: sender + sink CPU)
#   zest     sender -> `zest relay --workers 1` (defaults: adaptive copy) -> sink
#   buffered `--copy-mode buffered` (8 TLS records per buffer slot)
#   splice, splice1M   `--copy-mode splice`, kernel-default 64 KiB pipe or a 1 MiB pipe
#   haproxy  sender -> HAProxy (mode tcp, nbthread 1) -> sink
# and prints Gbit/s, CPU-seconds per GB of the middle process (/proc/<pid>/stat utime+stime)
# and ratios. Goals: zest CPU-s/GB <= 1.15 x one extra hop; zest Gbit/s >= HAProxy's.
# Usage: Benchmarks/scripts/relay-compare.sh [ROUNDS] [SECONDS]   (defaults 3 and 4)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
rounds="${1:-3}"
seconds="${2:-4}"
command -v haproxy >/dev/null || { echo "haproxy is missing: run scripts/setup.sh (Debian package haproxy)" >&2; exit 1; }
make -C "$root" --no-print-directory release >/dev/null
(cd "$here" && swift build -c release --product RelayLoad >/dev/null)
zest="$(cd "$root" && swift build -c release --show-bin-path)/zest"
load="$(cd "$here" && swift build -c release --show-bin-path)/RelayLoad"
exec python3 - "$zest" "$load" "$rounds" "$seconds" <<'PY'
import os, socket, statistics, subprocess, sys, tempfile, time

zest, load, rounds, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
# Extra zest relay settings measured beside the default (buffered, splice and its pipe size).
variants = [("buffered", ["--copy-mode", "buffered"]),
            ("splice", ["--copy-mode", "splice"]), ("splice1M", ["--copy-mode", "splice", "--pipe-capacity", "1048576"])]
tick = os.sysconf("SC_CLK_TCK")
procs = []

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

def start(argv):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    return p

def address_from(p):
    line = p.stdout.readline()
    return line.split("listening on ", 1)[1].split(",")[0].strip()

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close(); return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")

try:
    sink = start([load, "sink", "--listen", "127.0.0.1:0"])
    sink_addr = address_from(sink)
    middles = {"plain": (None, sink_addr)}
    z = start([zest, "relay", "--listen", "127.0.0.1:0", "--to", sink_addr, "--workers", "1"])
    middles["zest"] = (z.pid, address_from(z))
    for name, extra in variants:
        v = start([zest, "relay", "--listen", "127.0.0.1:0", "--to", sink_addr, "--workers", "1"] + extra)
        middles[name] = (v.pid, address_from(v))
    hport = free_port()
    cfg = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
    cfg.write(f"""global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen relay
    bind 127.0.0.1:{hport}
    server sink {sink_addr}
""")
    cfg.close()
    h = start(["haproxy", "-db", "-q", "-f", cfg.name])
    wait_port(hport)
    middles["haproxy"] = (h.pid, f"127.0.0.1:{hport}")

    results = {}
    for r in range(rounds):
        for streams in (1, 64):
            for name, (pid, addr) in middles.items():
                sink0 = cpu_seconds(sink.pid)
                mid0 = cpu_seconds(pid) if pid else 0.0
                sender = subprocess.Popen([load, "send", "--to", addr, "--streams", str(streams), "--seconds", str(seconds)],
                                          stdout=subprocess.PIPE, text=True)
                out = sender.stdout.read()
                _, status, usage = os.wait4(sender.pid, 0)
                if status != 0:
                    raise SystemExit(f"sender failed for {name}: {out}")
                kv = dict(x.split("=") for x in out.split())
                gb = int(kv["bytes"]) / 1e9
                secs = float(kv["seconds"])
                # The sender counts bytes it handed to its kernel; with 64 streams hundreds of MB can
                # still be in flight. Wait until the middle and the sink stop using CPU (at most 6 s)
                # so their work on those bytes is counted.
                last, t0 = None, time.time()
                while time.time() - t0 < 6:
                    now = (cpu_seconds(pid) if pid else 0.0, cpu_seconds(sink.pid))
                    if now == last:
                        break
                    last = now
                    time.sleep(0.4)
                sender_cpu = usage.ru_utime + usage.ru_stime
                sink_cpu = cpu_seconds(sink.pid) - sink0
                mid_cpu = (cpu_seconds(pid) - mid0) if pid else sender_cpu + sink_cpu
                results.setdefault((name, streams), []).append((gb * 8 / secs, mid_cpu / gb))
                print(f"round {r + 1} {name:9s} {streams:2d} stream(s): {gb * 8 / secs:6.2f} Gbit/s, "
                      f"{mid_cpu / gb:6.3f} CPU-s/GB of the {'hop (sender+sink)' if not pid else 'middle process'}", flush=True)

    print("\nmedians (interleaved rounds: %d, %.0f s each)" % (rounds, seconds))
    print(f"{'path':9s} {'streams':>7s} {'Gbit/s':>8s} {'CPU-s/GB':>9s}")
    med = {}
    for (name, streams), rows in sorted(results.items(), key=lambda kv: (kv[0][1], list(middles).index(kv[0][0]))):
        g = statistics.median(x[0] for x in rows); c = statistics.median(x[1] for x in rows)
        med[(name, streams)] = (g, c)
        print(f"{name:9s} {streams:7d} {g:8.2f} {c:9.3f}")
    print("\nratios (goal: zest CPU-s/GB <= 1.15 x one loopback hop; zest Gbit/s >= HAProxy)")
    for streams in (1, 64):
        hop = med[("plain", streams)][1]
        for name in [m for m in middles if m != "plain"]:
            g, c = med[(name, streams)]
            print(f"{streams:2d} stream(s) {name:9s}: CPU-s/GB = {c / hop:5.2f} x hop; "
                  f"Gbit/s = {g / med[('haproxy', streams)][0]:5.2f} x HAProxy, {g / med[('plain', streams)][0]:5.2f} x plain")
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
PY
