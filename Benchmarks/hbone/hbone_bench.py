"""HBONE benchmark: a Zest pair vs an Envoy HBONE pair vs plain TCP, interleaved in one run.

Topology: namespace A (clients, client-side proxies) and namespace B (server-side proxies, a
Python backend) joined by a veth pair, so each proxy pair is the only path it measures.
  plain : A -> 10.203.0.2:8080 directly
  zest  : A -> zest tunnel 127.0.0.1:9001 -> HBONE -> zest tunnel-server 10.203.0.2:15008 -> backend
  envoy : A -> Envoy tcp_proxy 127.0.0.1:9002 -> HBONE -> Envoy CONNECT terminator :15009 -> backend
One worker per proxy (--workers 1 / --concurrency 1), TLS 1.3 with TLS_AES_128_GCM_SHA256 on both
(Zest is forced with --aes128-only; BoringSSL prefers it on AES-NI hardware).

Usage (root, from the package root, after `swift build -c release --product zest`):
  python3 Benchmarks/hbone/hbone_bench.py [--rounds 3] [--gib 1] [--idle 1000]
Prints a Markdown table of medians and the ratios the issue asks for."""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_peers.py")
A, B = f"zbha{os.getpid() % 10000}", f"zbhb{os.getpid() % 10000}"
ADDR_A, ADDR_B = "10.203.0.1", "10.203.0.2"
ID_A, ID_B = "spiffe://cluster.local/ns/bench/sa/client", "spiffe://cluster.local/ns/bench/sa/server"
TARGET = f"{ADDR_B}:8080"
PORTS = {"plain": (ADDR_B, 8080), "zest": ("127.0.0.1", 9001), "envoy": ("127.0.0.1", 9002)}


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True).stdout


def netns(ns, *argv):
    return ["ip", "netns", "exec", ns, *argv]


def certs(d):
    sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{d}/ca.key")
    sh("openssl", "req", "-x509", "-new", "-key", f"{d}/ca.key", "-subj", "/O=bench", "-days", "2", "-out", f"{d}/ca.pem",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, ident in (("a", ID_A), ("b", ID_B)):
        sh("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{d}/{name}.key")
        sh("openssl", "req", "-new", "-key", f"{d}/{name}.key", "-subj", "/O=bench", "-out", f"{d}/{name}.csr")
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(f"subjectAltName=URI:{ident}\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:FALSE\n")
        sh("openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
           "-CAcreateserial", "-days", "2", "-extfile", f"{d}/{name}.ext", "-out", f"{d}/{name}.pem")


def tls_block(d, name, san_match, indent):
    lines = f"""tls_params: {{ tls_minimum_protocol_version: TLSv1_3, tls_maximum_protocol_version: TLSv1_3 }}
alpn_protocols: ["h2"]
tls_certificates: [{{ certificate_chain: {{ filename: "{d}/{name}.pem" }}, private_key: {{ filename: "{d}/{name}.key" }} }}]
validation_context:
  trusted_ca: {{ filename: "{d}/ca.pem" }}
  match_typed_subject_alt_names: [{{ san_type: URI, matcher: {{ {san_match} }} }}]"""
    return "\n".join(" " * indent + l for l in lines.split("\n"))


def envoy_configs(d):
    term = f"""static_resources:
  listeners:
  - name: terminate
    address: {{ socket_address: {{ address: "{ADDR_B}", port_value: 15009 }} }}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
{tls_block(d, "b", 'prefix: "spiffe://cluster.local/"', 12)}
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: terminate
          codec_type: HTTP2
          http2_protocol_options: {{ allow_connect: true, initial_stream_window_size: 4194304, initial_connection_window_size: 16777216 }}
          upgrade_configs: [{{ upgrade_type: CONNECT }}]
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{ connect_matcher: {{}} }}
                route: {{ cluster: original_dst, timeout: 0s, upgrade_configs: [{{ upgrade_type: CONNECT, connect_config: {{}} }}] }}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }}
  clusters:
  - name: original_dst
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    connect_timeout: 5s
    original_dst_lb_config: {{ use_http_header: true, http_header_name: ":authority" }}
"""
    orig = f"""static_resources:
  listeners:
  - name: originate
    address: {{ socket_address: {{ address: "127.0.0.1", port_value: 9002 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: originate
          cluster: peer
          tunneling_config: {{ hostname: "{TARGET}" }}
  clusters:
  - name: peer
    type: STATIC
    connect_timeout: 5s
    load_assignment:
      cluster_name: peer
      endpoints: [{{ lb_endpoints: [{{ endpoint: {{ address: {{ socket_address: {{ address: "{ADDR_B}", port_value: 15009 }} }} }} }}] }}]
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {{ initial_stream_window_size: 4194304, initial_connection_window_size: 16777216 }}
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        common_tls_context:
{tls_block(d, "a", f'exact: "{ID_B}"', 10)}
"""
    for name, text in (("term", term), ("orig", orig)):
        with open(f"{d}/{name}.yaml", "w") as f:
            f.write(text)


def cpu_seconds(pid):
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


def wait_port(ns, host, port):
    code = "import socket,sys,time\nfor _ in range(300):\n  try: socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close(); sys.exit(0)\n  except OSError: time.sleep(0.05)\nsys.exit(1)"
    subprocess.run(netns(ns, "python3", "-c", code, host, str(port)), check=True)


def peer(mode, variant, *args):
    host, port = PORTS[variant]
    return sh(*netns(A, "python3", PEERS, mode, host, str(port), *map(str, args))).split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--idle", type=int, default=1000)
    opts = ap.parse_args()
    zest = os.path.join(ROOT, ".build/release/zest")
    envoy = glob.glob(os.path.join(ROOT, ".venv/lib/python3*/site-packages/envoy/_bin/envoy"))[0]
    d = tempfile.mkdtemp(prefix="zest-hbone-bench-")
    procs = {}
    try:
        sh("ip", "netns", "add", A)
        sh("ip", "netns", "add", B)
        for ns in (A, B):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "vbha", "netns", A, "type", "veth", "peer", "name", "vbhb", "netns", B)
        sh("ip", "-n", A, "addr", "add", f"{ADDR_A}/24", "dev", "vbha")
        sh("ip", "-n", B, "addr", "add", f"{ADDR_B}/24", "dev", "vbhb")
        sh("ip", "-n", A, "link", "set", "vbha", "up")
        sh("ip", "-n", B, "link", "set", "vbhb", "up")
        certs(d)
        envoy_configs(d)

        def start(name, ns, *argv):
            log = open(f"{d}/{name}.log", "w")
            procs[name] = subprocess.Popen(netns(ns, *argv), stdout=log, stderr=log, stdin=subprocess.DEVNULL)

        start("backend", B, "python3", PEERS, "backend", ADDR_B, "8080")
        start("zest-server", B, zest, "tunnel-server", "--listen", f"{ADDR_B}:15008", "--cert", f"{d}/b.pem",
              "--key", f"{d}/b.key", "--ca", f"{d}/ca.pem", "--workers", "1", "--drain-seconds", "0", "--aes128-only")
        start("envoy-term", B, envoy, "-c", f"{d}/term.yaml", "--concurrency", "1", "--disable-hot-restart",
              "--base-id", "71", "-l", "error")
        for host, port in ((ADDR_B, 8080), (ADDR_B, 15008), (ADDR_B, 15009)):
            wait_port(B, host, port)
        start("zest-client", A, zest, "tunnel", "--listen", "127.0.0.1:9001", "--peer", f"{ADDR_B}:15008",
              "--authority", TARGET, "--cert", f"{d}/a.pem", "--key", f"{d}/a.key", "--ca", f"{d}/ca.pem",
              "--expect-identity", ID_B, "--workers", "1", "--aes128-only")
        start("envoy-orig", A, envoy, "-c", f"{d}/orig.yaml", "--concurrency", "1", "--disable-hot-restart",
              "--base-id", "72", "-l", "error")
        wait_port(A, "127.0.0.1", 9001)
        wait_port(A, "127.0.0.1", 9002)
        pair = {"zest": ("zest-client", "zest-server"), "envoy": ("envoy-orig", "envoy-term")}
        pids = {v: [procs[n].pid for n in names] for v, names in pair.items()}
        time.sleep(1)
        idle_rss = {v: [rss_kib(p) for p in ps] for v, ps in pids.items()}
        idle_anon = {v: [rss_kib(p, "RssAnon") for p in ps] for v, ps in pids.items()}

        count = int(opts.gib * (1 << 30))
        res = {v: {"mbps": [], "cpu": [], "p50": [], "p99": [], "cps": []} for v in PORTS}
        for _ in range(opts.rounds):
            for v in PORTS:
                before = sum(cpu_seconds(p) for p in pids.get(v, []))
                secs = float(peer("throughput", v, count)[0])
                after = sum(cpu_seconds(p) for p in pids.get(v, []))
                res[v]["mbps"].append(count / secs / 1e6)
                res[v]["cpu"].append((after - before) / (count / 1e9))
                p50, p99 = peer("pingpong", v, 3000, 1024)
                res[v]["p50"].append(float(p50))
                res[v]["p99"].append(float(p99))
                res[v]["cps"].append(float(peer("connect", v, 1000)[0]))

        growth = {}
        for v in ("zest", "envoy"):
            before = sum(rss_kib(p) for p in pids[v])
            host, port = PORTS[v]
            h = subprocess.Popen(netns(A, "python3", PEERS, "hold", host, str(port), str(opts.idle)),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert h.stdout.readline().strip() == "held"
            time.sleep(1)
            after = sum(rss_kib(p) for p in pids[v])
            h.stdin.close()
            h.wait()
            growth[v] = (after - before) / opts.idle

        med = {v: {k: statistics.median(x) for k, x in r.items()} for v, r in res.items()}
        print(f"HBONE benchmark: {opts.rounds} interleaved rounds, {opts.gib} GiB per throughput run, "
              f"{opts.idle} idle tunnels; medians\n")
        print("| | plain TCP | Zest pair | Envoy pair | Zest / Envoy | target |")
        print("|---|---|---|---|---|---|")
        z, e, p = med["zest"], med["envoy"], med["plain"]
        print(f"| single-stream throughput (MB/s) | {p['mbps']:.0f} | {z['mbps']:.0f} | {e['mbps']:.0f} | {z['mbps'] / e['mbps']:.2f}× | ≥ 1.25× |")
        print(f"| proxy CPU-seconds per GB (both proxies) | – | {z['cpu']:.2f} | {e['cpu']:.2f} | {z['cpu'] / e['cpu']:.2f}× | ≤ 0.85× |")
        for q in ("p50", "p99"):
            za, ea = z[q] - p[q], e[q] - p[q]
            print(f"| 1 KiB ping-pong {q} (µs; added over plain) | {p[q]:.0f} | {z[q]:.0f} (+{za:.0f}) | {e[q]:.0f} (+{ea:.0f}) | {za / ea:.2f}× | ≤ 0.5× |")
        print(f"| connect-per-request (conn/s, sequential) | {p['cps']:.0f} | {z['cps']:.0f} | {e['cps']:.0f} | {z['cps'] / e['cps']:.2f}× | ≥ 2× |")
        print(f"| idle RSS per process (MiB: client, server) | – | {idle_rss['zest'][0] / 1024:.1f}, {idle_rss['zest'][1] / 1024:.1f} | "
              f"{idle_rss['envoy'][0] / 1024:.1f}, {idle_rss['envoy'][1] / 1024:.1f} | – | ≤ 12 MiB |")
        print(f"| idle anonymous RSS per process (MiB: client, server) | – | {idle_anon['zest'][0] / 1024:.1f}, {idle_anon['zest'][1] / 1024:.1f} | "
              f"{idle_anon['envoy'][0] / 1024:.1f}, {idle_anon['envoy'][1] / 1024:.1f} | – | – |")
        print(f"| RSS growth per idle tunnel, both proxies (KiB) | – | {growth['zest']:.1f} | {growth['envoy']:.1f} | "
              f"{growth['zest'] / growth['envoy']:.2f}× | ≤ 4 KiB |")
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
