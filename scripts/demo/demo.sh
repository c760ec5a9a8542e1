#!/usr/bin/env bash
# Zest's embedded demo (`make demo`): two "nodes" and three "pods" in network namespaces on
# this machine. The pods' processes start first; Zest then enrolls them through `zest cni`
# and ZDS without restarting anything, carries their traffic as HBONE (mTLS, one embedded
# CA root shared by both nodes) and applies the payments policies from
# docs/examples/payments-policies.yaml: orders-api -> payments-api is allowed, web ->
# payments-api is denied. The report at the end is read from Zest's metrics and access log.
# Everything is removed at the end, also on Ctrl-C. Needs root.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ZEST=${ZEST:-$ROOT/.build/release/zest}
RUN=${ZEST_DEMO_DIR:-/run/zest-demo}
P=zd                          # prefix of every namespace and interface the demo makes
PROBE="python3 $HERE/probe.py"
PIDS=()

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in node1 node2 orders payments web; do ip netns del "$P-$ns" 2>/dev/null || true; done
    rm -rf "$RUN"
}

[ "$(id -u)" = 0 ] || { echo "the demo needs root (network namespaces, nftables)"; exit 1; }
[ -x "$ZEST" ] || { echo "build Zest first: swift build -c release ($ZEST missing)"; exit 1; }
cleanup                                            # leftovers of an interrupted run
trap cleanup EXIT
trap 'echo; echo "interrupted; cleaning up"; exit 130' INT TERM
mkdir -p "$RUN"

start() {                                          # start LOG CMD...: background, remember PID
    local log=$1; shift
    "$@" >"$log" 2>&1 &
    PIDS+=($!)
}

say "network: node1 (10.1.0.0/16) <-> node2 (10.2.0.0/16), pods behind their node"
for ns in node1 node2 orders payments web; do
    ip netns add "$P-$ns"; ip -n "$P-$ns" link set lo up
done
ip link add "$P-n1" netns "$P-node1" type veth peer name "$P-n2" netns "$P-node2"
ip -n "$P-node1" addr add 192.168.77.1/24 dev "$P-n1"; ip -n "$P-node1" link set "$P-n1" up
ip -n "$P-node2" addr add 192.168.77.2/24 dev "$P-n2"; ip -n "$P-node2" link set "$P-n2" up
ip -n "$P-node1" route add 10.2.0.0/16 via 192.168.77.2
ip -n "$P-node2" route add 10.1.0.0/16 via 192.168.77.1
pod_link() {                                       # pod_link POD NODE SUBNET(e.g. 10.1.1)
    ip link add "$P-$1" netns "$P-$2" type veth peer name eth0 netns "$P-$1"
    ip -n "$P-$2" addr add "$3.1/24" dev "$P-$1"; ip -n "$P-$2" link set "$P-$1" up
    ip -n "$P-$1" addr add "$3.2/24" dev eth0; ip -n "$P-$1" link set eth0 up
    ip -n "$P-$1" route add default via "$3.1"
}
pod_link orders node1 10.1.1
pod_link payments node2 10.2.1
pod_link web node2 10.2.2
for n in node1 node2; do ip netns exec "$P-$n" sysctl -qw net.ipv4.ip_forward=1; done

say "pods start their apps before Zest exists"
start "$RUN/payments.log" ip netns exec "$P-payments" $PROBE serve 8080 payments-api
sleep 0.3
start "$RUN/orders.client" ip netns exec "$P-orders" $PROBE every 10.2.1.2 8080 0.25 "$RUN/orders.calls"
start "$RUN/web.client" ip netns exec "$P-web" $PROBE every 10.2.1.2 8080 0.25 "$RUN/web.calls"
APP_PIDS="${PIDS[*]}"
sleep 1.5
ENROLL_AT=$(date +%s.%N)

say "Zest: one shared CA root, one \`zest run\` and one \`zest cni serve\` per node"
mkdir -p "$RUN/state" && chmod 700 "$RUN/state"
"$ZEST" ca issue --state-dir "$RUN/state/ca" --identity spiffe://cluster.local/ns/demo/sa/root-check \
    --out-dir "$RUN/state/check" >/dev/null
for n in node1 node2; do
    mkdir -p "$RUN/$n/pods" "$RUN/$n/netns"
    start "$RUN/$n.cni.log" "$ZEST" cni serve --socket "$RUN/$n/ztunnel.sock" --pods-dir "$RUN/$n/pods" --scan-interval-ms 50
    start "$RUN/$n.zest.log" ip netns exec "$P-$n" env \
        NODE_NAME="$n" INPOD_UDS="$RUN/$n/ztunnel.sock" ZEST_STATE_DIR="$RUN/state" \
        LOCAL_XDS_PATH="$HERE/mesh.yaml,$ROOT/docs/examples/payments-policies.yaml" \
        ZEST_NETNS_DIR="$RUN/$n/netns" CONNECTION_TERMINATION_DEADLINE=2s ZTUNNEL_WORKER_THREADS=1 \
        "$ZEST" run
done
ready() { ip netns exec "$P-$1" curl -s -o /dev/null -w '%{http_code}' localhost:15021/healthz/ready 2>/dev/null || true; }
for n in node1 node2; do
    for _ in $(seq 100); do [ "$(ready $n)" = 200 ] && break; sleep 0.1; done
    [ "$(ready $n)" = 200 ] || { echo "zest on $n did not become ready:"; tail -5 "$RUN/$n.zest.log"; cat "$RUN/orders.calls" | tail -3; exit 1; }
done

say "enroll the running pods (no restart): zest cni add"
enroll() {                                         # enroll NODE POD NAME NAMESPACE SA
    ln -s "/var/run/netns/$P-$2" "$RUN/$1/netns/$P-$2"
    "$ZEST" cni add --pods-dir "$RUN/$1/pods" --netns "/var/run/netns/$P-$2" --uid "$3" \
        --name "$3" --namespace "$4" --service-account "$5" >/dev/null
}
enroll node1 orders orders-api-0 orders orders-api
enroll node2 payments payments-api-0 payments payments-api
enroll node2 web web-0 shop web
active() { ip netns exec "$P-$1" curl -s localhost:15020/metrics | awk '/^workload_manager_active_proxy_count/ {print $2}'; }
for _ in $(seq 100); do [ "$(active node1)" = 1 ] && [ "$(active node2)" = 2 ] && break; sleep 0.1; done
ENROLLED_AT=$(date +%s.%N)
sleep 3

say "report"
for n in node1 node2; do
    ip netns exec "$P-$n" curl -s localhost:15020/metrics >"$RUN/$n.metrics"
    ip netns exec "$P-$n" curl -s localhost:15000/config_dump >"$RUN/$n.config_dump.json"
done
python3 "$HERE/report.py" "$RUN" "$ENROLL_AT" "$ENROLLED_AT" "$APP_PIDS"
