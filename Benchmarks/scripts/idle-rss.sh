#!/usr/bin/env bash
# Idle resident memory of the zest release binary against the issue #4 budget (12 MiB per
# process). Starts, one after the other, the processes of the HBONE benchmark on loopback
#   tunnel-server  zest tunnel-server --workers 1 (mutual TLS, throwaway CA)
#   tunnel         zest tunnel --workers 1, pointed at that server
#   run            zest run (ZTUNNEL_WORKER_THREADS=1) in a throwaway network namespace with
#                  `zest cni serve`; only as root, measured once /healthz/ready answers 200
# waits (bounded) until each listens, lets it settle, and prints VmRSS, RssAnon, RssFile and
# the start-up peak (VmHWM) from /proc/<pid>/status. Exit status 1 when a process is over
# budget, 2 when one did not start. Not a timing test: it only reads memory figures.
# Usage: Benchmarks/scripts/idle-rss.sh [--detail] [ZEST_BINARY]
#   default binary: .build/release/zest (build it with `make release`)
#   RSS_BUDGET_KIB (default 12288) and RSS_SETTLE_SECONDS (default 1) override the defaults.
#   --detail also prints the ten largest mappings by resident size (pmap -x).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
detail=0
if [ "${1:-}" = "--detail" ]; then detail=1; shift; fi
zest="${1:-$root/.build/release/zest}"
budget="${RSS_BUDGET_KIB:-12288}"
settle="${RSS_SETTLE_SECONDS:-1}"
[ -x "$zest" ] || { echo "no zest binary at $zest: run 'make release' first" >&2; exit 2; }

work="$(mktemp -d /tmp/zest-idle-rss.XXXXXX)"
netns="zest-idle-rss-$$"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$netns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_for DESCRIPTION PID COMMAND...: runs COMMAND every 0.1 s until it succeeds (10 s at most).
wait_for() {
    local what="$1" pid="$2"; shift 2
    for _ in $(seq 100); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { echo "$what exited before it was ready:" >&2; tail -5 "$work"/*.log >&2; exit 2; }
        sleep 0.1
    done
    echo "$what not ready within 10 s" >&2; exit 2
}
listening() { ss -Htln "sport = :$1" | grep -q .; }

field_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
over=0
report() {
    local name="$1" pid="$2"
    sleep "$settle"
    local rss anon file peak verdict="ok"
    rss=$(field_kib "$pid" VmRSS); anon=$(field_kib "$pid" RssAnon); file=$(field_kib "$pid" RssFile); peak=$(field_kib "$pid" VmHWM)
    if [ "$rss" -gt "$budget" ]; then verdict="OVER"; over=1; fi
    printf '%-14s VmRSS %5.1f MiB  RssAnon %4.1f MiB  RssFile %4.1f MiB  start-up peak %4.1f MiB  threads %2s  budget %.1f MiB  %s\n' \
        "$name" "$(bc -l <<<"$rss/1024")" "$(bc -l <<<"$anon/1024")" "$(bc -l <<<"$file/1024")" "$(bc -l <<<"$peak/1024")" \
        "$(field_kib "$pid" Threads)" "$(bc -l <<<"$budget/1024")" "$verdict"
    if [ "$detail" = 1 ]; then
        pmap -x "$pid" | awk 'NR > 2 && $1 != "total" && $3 ~ /^[0-9]+$/ { printf "    %8d KiB  %s\n", $3, $NF }' | sort -rn | head -10
    fi
}

openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key" 2>/dev/null
openssl req -x509 -new -key "$work/ca.key" -subj /O=idle-rss -days 1 -out "$work/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
for name in client server; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$name.key" 2>/dev/null
    openssl req -new -key "$work/$name.key" -subj /O=idle-rss -out "$work/$name.csr" 2>/dev/null
    printf 'subjectAltName=URI:spiffe://cluster.local/ns/bench/sa/%s\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:FALSE\n' \
        "$name" >"$work/$name.ext"
    openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
        -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
done

echo "binary: $zest ($(stat -c %s "$zest") bytes)"
server_port=$(free_port)
"$zest" tunnel-server --listen "127.0.0.1:$server_port" --cert "$work/server.pem" --key "$work/server.key" \
    --ca "$work/ca.pem" --workers 1 --aes128-only >"$work/server.log" 2>&1 &
pids+=($!)
wait_for tunnel-server "$!" listening "$server_port"
report tunnel-server "${pids[-1]}"

client_port=$(free_port)
"$zest" tunnel --listen "127.0.0.1:$client_port" --peer "127.0.0.1:$server_port" --authority 127.0.0.1:9 \
    --cert "$work/client.pem" --key "$work/client.key" --ca "$work/ca.pem" \
    --expect-identity spiffe://cluster.local/ns/bench/sa/server --workers 1 --aes128-only >"$work/client.log" 2>&1 &
pids+=($!)
wait_for tunnel "$!" listening "$client_port"
report tunnel "${pids[-1]}"

if [ "$(id -u)" = 0 ]; then
    ip netns add "$netns"
    ip -n "$netns" link set lo up
    mkdir -p "$work/pods" "$work/netns" "$work/state" && chmod 700 "$work/state"
    "$zest" cni serve --socket "$work/ztunnel.sock" --pods-dir "$work/pods" >"$work/cni.log" 2>&1 &
    pids+=($!)
    wait_for "zest cni serve" "$!" test -S "$work/ztunnel.sock"
    ip netns exec "$netns" env NODE_NAME=idle-rss INPOD_UDS="$work/ztunnel.sock" ZEST_STATE_DIR="$work/state" \
        ZEST_NETNS_DIR="$work/netns" ZTUNNEL_WORKER_THREADS=1 RUST_LOG=warn "$zest" run >"$work/run.log" 2>&1 &
    pids+=($!)
    wait_for "zest run" "$!" ip netns exec "$netns" curl -sf -o /dev/null 127.0.0.1:15021/healthz/ready
    report run "${pids[-1]}"
else
    echo "run            not measured: zest run needs root (network namespace, capabilities)"
fi
exit "$over"
