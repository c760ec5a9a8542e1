# Sourced by idle-rss.sh and hot-functions.sh: a `zest tunnel` / `zest tunnel-server` pair on
# loopback with a throwaway CA, an echo backend behind it, and one checked connection through it.
# The caller sets `work` (a scratch directory) and `pids` (an array its cleanup ends), and may
# set `launch` (an array put before every zest command, e.g. a valgrind invocation) and
# `wait_seconds` (how long start-up may take, default 10).

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listening() { ss -Htln "sport = :$1" | grep -q .; }

# wait_for DESCRIPTION PID COMMAND...: runs COMMAND every 0.1 s until it succeeds (bounded).
wait_for() {
    local what="$1" pid="$2"; shift 2
    for _ in $(seq $(( ${wait_seconds:-10} * 10 ))); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { echo "$what exited before it was ready:" >&2; tail -5 "$work"/*.log >&2; exit 2; }
        sleep 0.1
    done
    echo "$what not ready within ${wait_seconds:-10} s" >&2; exit 2
}

# make_certs: a CA and SPIFFE certificates for "client" and "server" in $work.
make_certs() {
    openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$work/ca.key" -subj /O=tunnel-pair -days 1 -out "$work/ca.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    local name
    for name in client server; do
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$name.key" 2>/dev/null
        openssl req -new -key "$work/$name.key" -subj /O=tunnel-pair -out "$work/$name.csr" 2>/dev/null
        printf 'subjectAltName=URI:spiffe://cluster.local/ns/bench/sa/%s\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:FALSE\n' \
            "$name" >"$work/$name.ext"
        openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
            -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
    done
}

# start_server ZEST: `zest tunnel-server --workers 1` on a free port; sets server_port, server_pid.
start_server() {
    server_port=$(free_port)
    "${launch[@]}" "$1" tunnel-server --listen "127.0.0.1:$server_port" --cert "$work/server.pem" --key "$work/server.key" \
        --ca "$work/ca.pem" --workers 1 --aes128-only >"$work/server.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    wait_for tunnel-server "$server_pid" listening "$server_port"
}

# start_backend: a loopback TCP echo server (one thread per connection); sets backend_port.
# `exec` makes the collected pid python's own, so the caller's cleanup ends it.
start_backend() {
    rm -f "$work/backend.port"
    (exec python3 -c '
import socket, sys, threading
srv = socket.create_server(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(srv.getsockname()[1]))
def echo(c):
    with c:
        while data := c.recv(65536):
            c.sendall(data)
while True:
    threading.Thread(target=echo, args=(srv.accept()[0],), daemon=True).start()
' "$work/backend.port") &
    pids+=($!)
    wait_for "echo backend" "$!" test -s "$work/backend.port"
    backend_port=$(cat "$work/backend.port")
}

# start_client ZEST: `zest tunnel --workers 1` to the server and the backend; sets client_port, client_pid.
start_client() {
    client_port=$(free_port)
    "${launch[@]}" "$1" tunnel --listen "127.0.0.1:$client_port" --peer "127.0.0.1:$server_port" \
        --authority "127.0.0.1:$backend_port" --cert "$work/client.pem" --key "$work/client.key" --ca "$work/ca.pem" \
        --expect-identity spiffe://cluster.local/ns/bench/sa/server --workers 1 --aes128-only >"$work/client.log" 2>&1 &
    client_pid=$!
    pids+=("$client_pid")
    wait_for tunnel "$client_pid" listening "$client_port"
}

# one_connection BYTES: sends BYTES random bytes through the pair and checks they come back.
one_connection() {
    python3 -c '
import os, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
payload = os.urandom(n)
with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while chunk := s.recv(65536):
        got += chunk
sys.exit(0 if got == payload else f"echo through the tunnel: {len(got)} of {n} bytes, equal: {got == payload}")
' "$client_port" "$1"
}
