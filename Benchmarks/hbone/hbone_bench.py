"""HBONE benchmark: a Zest pair vs an Envoy HBONE pair vs plain TCP, interleaved in one run.

Topology (hbone_setup.py): namespace A (clients, client-side proxies) and namespace B
(server-side proxies, the backend) joined by a veth pair.
  plain : A -> 10.203.0.2:8080 directly
  zest  : A -> zest tunnel 127.0.0.1:9001 -> HBONE -> zest tunnel-server 10.203.0.2:15008 -> backend
  envoy : A -> Envoy tcp_proxy 127.0.0.1:9002 -> HBONE -> Envoy CONNECT terminator :15009 -> backend
  relay : A -> HBONELoad relay 127.0.0.1:9003 -> plain TCP -> HBONELoad relay :15010 -> backend
          (the floor: two minimal event-driven hops, no TLS, no HTTP/2 — what any proxy pair
          that sleeps in epoll_wait pays on this machine for the two extra hops)
One worker per proxy (--workers 1 / --concurrency 1), TLS 1.3 with TLS_AES_128_GCM_SHA256 on both
(Zest is forced with --aes128-only; BoringSSL prefers it on AES-NI hardware). Clients and backend
are the native HBONELoad tool (Benchmarks/Sources/HBONELoad), which checks every byte count and
echo, so a broken proxy fails the run instead of producing a figure.

Usage (root, from the package root, after `swift build -c release --product zest`):
  python3 Benchmarks/hbone/hbone_bench.py [--rounds 5] [--gib 1] [--idle 1000] [--pin none|split|sides]
Builds HBONELoad (`swift build -c release --package-path Benchmarks --product HBONELoad`) unless
--no-build, then prints a Markdown table of medians and the Zest / Envoy ratios the issue asks for."""
import argparse
import contextlib
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from hbone_setup import (A, ADDR_A, ADDR_B, B, ID_A, ID_B, LOAD, ROOT, TARGET, BenchError, build_load_tool, certs,  # noqa: F401
                         delete_namespaces, envoy_configs, find_binaries, make_namespaces, netns, sh, wait_port)

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_peers.py")
PORTS = {"plain": (ADDR_B, 8080), "zest": ("127.0.0.1", 9001), "envoy": ("127.0.0.1", 9002),
         "relay": ("127.0.0.1", 9003)}
PROXIES = {"zest": ("zest-client", "zest-server"), "envoy": ("envoy-orig", "envoy-term"),
           "relay": ("relay-client", "relay-server")}
# CPU sets per (namespace, role) for each --pin choice; None leaves the scheduler free.
PINNING = {
    "none": lambda ns, role: None,
    "split": lambda ns, role: "1" if role == "load" else "0",   # load tool vs proxies
    "sides": lambda ns, role: "0" if ns == A else "1",          # client node vs server node
}


def cpu_seconds(pid):
    """utime + stime of all threads of `pid` (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid, field="VmRSS"):
    """Resident memory in KiB: VmRSS (all pages, shared libraries included) or RssAnon (private heap)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def command(ns, role, pin, *argv):
    cpus = PINNING[pin](ns, role)
    return netns(ns, *(["taskset", "-c", cpus] if cpus else []), *map(str, argv))


def peer(mode, variant, *args, pin="none", timeout=600):
    """Runs one HBONELoad client mode in A against `variant`; returns its output fields."""
    host, port = PORTS[variant]
    done = subprocess.run(command(A, "load", pin, LOAD, mode, host, port, *args),
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise BenchError(f"HBONELoad {mode} via {variant} failed: {done.stderr.strip()}")
    return done.stdout.split()


class Bench:
    """The processes of one run, started in the namespaces and stopped in `close`."""

    def __init__(self, opts, d):
        self.opts, self.d, self.procs = opts, d, {}

    def start(self, name, ns, role, *argv):
        log = open(f"{self.d}/{name}.log", "w")
        self.procs[name] = subprocess.Popen(command(ns, role, self.opts.pin, *argv), stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)

    def alive(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                with open(f"{self.d}/{name}.log") as f:
                    tail = f.read()[-2000:]
                raise BenchError(f"{name} exited with {proc.returncode} during the run; its log ends:\n{tail}")

    def wait(self, ns, host, port):
        wait_port(ns, host, port, procs=list(self.procs.items()))

    def pids(self, variant):
        return [self.procs[n].pid for n in PROXIES.get(variant, ())]

    def close(self):
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def launch(self, zest, envoy):
        d = self.d
        self.start("backend", B, "load", LOAD, "backend", ADDR_B, 8080)
        self.start("zest-server", B, "proxy", zest, "tunnel-server", "--listen", f"{ADDR_B}:15008",
                   "--cert", f"{d}/b.pem", "--key", f"{d}/b.key", "--ca", f"{d}/ca.pem", "--workers", "1",
                   "--drain-seconds", "0", "--aes128-only", *self.opts.zest_arg)
        self.start("envoy-term", B, "proxy", envoy, "-c", f"{d}/term.yaml", "--concurrency", "1",
                   "--disable-hot-restart", "--base-id", str(os.getpid() % 10000 * 2), "-l", "error")
        self.start("relay-server", B, "proxy", LOAD, "relay", ADDR_B, 15010, ADDR_B, 8080)
        for port in (8080, 15008, 15009, 15010):
            self.wait(B, ADDR_B, port)
        self.start("zest-client", A, "proxy", zest, "tunnel", "--listen", "127.0.0.1:9001", "--peer", f"{ADDR_B}:15008",
                   "--authority", TARGET, "--cert", f"{d}/a.pem", "--key", f"{d}/a.key", "--ca", f"{d}/ca.pem",
                   "--expect-identity", ID_B, "--workers", "1", "--aes128-only", *self.opts.zest_arg)
        self.start("envoy-orig", A, "proxy", envoy, "-c", f"{d}/orig.yaml", "--concurrency", "1",
                   "--disable-hot-restart", "--base-id", str(os.getpid() % 10000 * 2 + 1), "-l", "error")
        self.start("relay-client", A, "proxy", LOAD, "relay", "127.0.0.1", 9003, ADDR_B, 15010)
        for port in (9001, 9002, 9003):
            self.wait(A, "127.0.0.1", port)

    def memory(self):
        return {v: {f: [rss_kib(p, f) for p in self.pids(v)] for f in ("VmRSS", "RssAnon")} for v in PROXIES}

    def round(self, variant, res):
        """One throughput, ping-pong and two connect-rate runs through `variant`."""
        o = self.opts
        self.alive()
        count = int(o.gib * (1 << 30))
        backend = self.procs["backend"].pid
        before, load_before = sum(cpu_seconds(p) for p in self.pids(variant)), cpu_seconds(backend)
        secs, client_cpu = map(float, peer("throughput", variant, count, pin=o.pin)[:2])
        after, load_after = sum(cpu_seconds(p) for p in self.pids(variant)), cpu_seconds(backend)
        res["mbps"].append(count / secs / 1e6)
        res["cpu"].append((after - before) / (count / 1e9))
        res["load_cpu"].append((client_cpu + load_after - load_before) / (count / 1e9))
        p50, p99 = map(float, peer("pingpong", variant, o.pingpong_rounds, 1024, pin=o.pin))
        res["p50"].append(p50)
        res["p99"].append(p99)
        res["cps"].append(float(peer("connect", variant, o.connects, pin=o.pin)[0]))
        res["cps_conc"].append(float(peer("connect", variant, o.connects, "--concurrency", o.concurrency, pin=o.pin)[0]))

    def growth(self, variant):
        """RSS growth of both proxies per tunnel while `idle` echo tunnels stay open (checked alive after)."""
        n = self.opts.idle
        before = sum(rss_kib(p) for p in self.pids(variant))
        host, port = PORTS[variant]
        hold = subprocess.Popen(command(A, "load", self.opts.pin, LOAD, "hold", host, port, n),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([hold.stdout], [], [], 180)
            if not ready or hold.stdout.readline().strip() != "held":
                hold.kill()
                raise BenchError(f"HBONELoad hold via {variant} did not hold {n} tunnels: {hold.communicate()[1].strip()}")
            time.sleep(1)  # fixed settle time before reading RSS
            after = sum(rss_kib(p) for p in self.pids(variant))
            out, err = hold.communicate("", timeout=180)
            if hold.returncode != 0 or "released" not in out:
                raise BenchError(f"HBONELoad hold via {variant}: tunnels broke while idle: {err.strip()}")
        finally:
            if hold.poll() is None:
                hold.kill()
                hold.wait()
        return (after - before) / n


@contextlib.contextmanager
def launched(opts, zest, envoy, prefix):
    """The whole topology running — namespaces, certificates, Envoy configurations, every
    process of `Bench.launch` — for the `with` body; all of it removed again on the way out,
    errors included. The bench's files (certificates, logs) are under `bench.d`."""
    bench = Bench(opts, tempfile.mkdtemp(prefix=prefix))
    try:
        make_namespaces()
        certs(bench.d)
        envoy_configs(bench.d)
        bench.launch(zest, envoy)
        yield bench
    finally:
        bench.close()
        delete_namespaces()
        shutil.rmtree(bench.d, ignore_errors=True)


def mib(kib_pair):
    return ", ".join(f"{k / 1024:.1f}" for k in kib_pair)


def paired(res):
    """Zest / Envoy per round (each round runs the variants back to back, so a ratio within a
    round is not moved by the machine's load drifting between rounds) and the median of those."""
    def added(v, q, i):
        return res[v][q][i] - res["plain"][q][i]
    rounds = range(len(res["zest"]["mbps"]))
    per = {k: [res["zest"][k][i] / res["envoy"][k][i] for i in rounds] for k in ("mbps", "cpu", "cps", "cps_conc")}
    for q in ("p50", "p99"):
        per[f"added {q}"] = [added("zest", q, i) / added("envoy", q, i) if added("envoy", q, i) > 0 else float("nan")
                             for i in rounds]
    lines = ["Paired Zest / Envoy ratios (per round; median):"]
    for k, xs in per.items():
        lines.append(f"- {k}: {', '.join(f'{x:.2f}' for x in xs)}; median {statistics.median(xs):.2f}×")
    return "\n".join(lines)


def report(o, res, cold, warm, growth, load_before, load_after):
    med = {v: {k: statistics.median(x) for k, x in r.items()} for v, r in res.items()}
    z, e, p, f = med["zest"], med["envoy"], med["plain"], med["relay"]
    added = {v: {q: med[v][q] - p[q] for q in ("p50", "p99")} for v in PROXIES}
    print(f"HBONE benchmark: {o.rounds} interleaved rounds, {o.gib} GiB per throughput run, {o.pingpong_rounds} "
          f"ping-pong rounds, {o.connects} connections per connect run, {o.idle} idle tunnels, pinning: {o.pin}; medians")
    print(f"load before: {load_before}\nload after:  {load_after}\n")
    print("| | plain TCP | relay floor (no TLS) | Zest pair | Envoy pair | Zest / Envoy | target |")
    print("|---|---|---|---|---|---|---|")
    print(f"| single-stream throughput (MB/s) | {p['mbps']:.0f} | {f['mbps']:.0f} | {z['mbps']:.0f} | {e['mbps']:.0f} | "
          f"{z['mbps'] / e['mbps']:.2f}× | ≥ 1.25× |")
    print(f"| proxy CPU-seconds per GB (both proxies) | – | {f['cpu']:.2f} | {z['cpu']:.2f} | {e['cpu']:.2f} | "
          f"{z['cpu'] / e['cpu']:.2f}× | ≤ 0.85× |")
    print(f"| load tool CPU-seconds per GB (client + backend) | {p['load_cpu']:.2f} | {f['load_cpu']:.2f} | {z['load_cpu']:.2f} | "
          f"{e['load_cpu']:.2f} | – | – |")
    for q in ("p50", "p99"):
        za, ea, fa = added["zest"][q], added["envoy"][q], added["relay"][q]
        print(f"| 1 KiB ping-pong {q} (µs; added over plain) | {p[q]:.0f} | {f[q]:.0f} (+{fa:.0f}) | {z[q]:.0f} (+{za:.0f}) | "
              f"{e[q]:.0f} (+{ea:.0f}) | {za / ea:.2f}× (floor {fa / ea:.2f}×) | ≤ 0.5× |")
    print(f"| connect-per-request (conn/s, sequential) | {p['cps']:.0f} | {f['cps']:.0f} | {z['cps']:.0f} | {e['cps']:.0f} | "
          f"{z['cps'] / e['cps']:.2f}× (floor {f['cps'] / e['cps']:.2f}×) | ≥ 2× |")
    print(f"| connect-per-request (conn/s, {o.concurrency} concurrent clients) | {p['cps_conc']:.0f} | {f['cps_conc']:.0f} | "
          f"{z['cps_conc']:.0f} | {e['cps_conc']:.0f} | {z['cps_conc'] / e['cps_conc']:.2f}× | – |")
    for label, mem in (("cold: after start", cold), ("warm: after one connection + 2 s idle", warm)):
        print(f"| idle RSS per process, {label} (MiB: client, server) | – | – | {mib(mem['zest']['VmRSS'])} | "
              f"{mib(mem['envoy']['VmRSS'])} | – | ≤ 12 MiB |")
        print(f"| idle anonymous RSS, {label} (MiB: client, server) | – | – | {mib(mem['zest']['RssAnon'])} | "
              f"{mib(mem['envoy']['RssAnon'])} | – | – |")
    print(f"| RSS growth per idle tunnel, both proxies (KiB) | – | – | {growth['zest']:.1f} | {growth['envoy']:.1f} | "
          f"{growth['zest'] / growth['envoy']:.2f}× | ≤ 4 KiB |")
    print("\nThe floor column is two minimal plain-TCP relays (HBONELoad relay) in the proxies' places: its "
          "\"floor\" ratios are what a proxy pair with no TLS and no HTTP/2 at all would score against Envoy here.")
    print("\n" + paired(res))
    print("raw:", {v: {k: [round(x, 2) for x in xs] for k, xs in r.items()} for v, r in res.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--gib", type=float, default=1.0, help="GiB per throughput run")
    ap.add_argument("--idle", type=int, default=1000, help="idle tunnels for the RSS growth figure")
    ap.add_argument("--pingpong-rounds", type=int, default=20000)
    ap.add_argument("--connects", type=int, default=2000, help="connections per connect-rate run")
    ap.add_argument("--concurrency", type=int, default=8, help="clients of the concurrent connect-rate run")
    ap.add_argument("--pin", choices=sorted(PINNING), default="none",
                    help="taskset: split = load tool on CPU 1, proxies on CPU 0; sides = namespace A on 0, B on 1")
    ap.add_argument("--zest", help="zest binary (default .build/release/zest)")
    ap.add_argument("--envoy", help="envoy binary (default from .venv, installed by scripts/setup.sh)")
    ap.add_argument("--no-build", action="store_true", help="use the HBONELoad binary as it is")
    ap.add_argument("--zest-arg", action="append", default=[],
                    help="extra argument for both zest commands, e.g. --zest-arg=--busy-poll-us=50")
    o = ap.parse_args()
    if o.pin != "none" and os.cpu_count() < 2:
        raise BenchError("--pin needs two CPUs")
    zest, envoy = find_binaries(o.zest, o.envoy)
    if not o.no_build:
        build_load_tool()
    elif not os.access(LOAD, os.X_OK):
        raise BenchError(f"no HBONELoad at {LOAD}: run `swift build -c release --package-path Benchmarks --product HBONELoad`")
    with launched(o, zest, envoy, "zest-hbone-bench-") as bench:
        time.sleep(1)  # fixed warm-up: let both proxies finish start-up before the cold reading
        cold = bench.memory()
        for v in PORTS:
            peer("connect", v, 1, pin=o.pin)
        time.sleep(2)
        warm = bench.memory()
        load_before = sh("uptime").strip()
        res = {v: {k: [] for k in ("mbps", "cpu", "load_cpu", "p50", "p99", "cps", "cps_conc")} for v in PORTS}
        order = list(PORTS)
        for r in range(o.rounds):
            for v in order[r % len(order):] + order[:r % len(order)]:  # rotate so no variant always runs first
                bench.round(v, res[v])
        growth = {v: bench.growth(v) for v in ("zest", "envoy")}
        bench.alive()
        report(o, res, cold, warm, growth, load_before, sh("uptime").strip())


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("hbone_bench: terminated"))  # still runs the cleanup
    try:
        main()
    except BenchError as err:
        sys.exit(f"hbone_bench: {err}")
