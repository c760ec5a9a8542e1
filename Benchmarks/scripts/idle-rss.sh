#!/usr/bin/env bash
# Idle resident memory of the zest release binary against the issue #4 budget (12 MiB per
# process). Starts, one after the other, the processes of the HBONE benchmark on loopback
#   tunnel-server  zest tunnel-server --workers 1 (mutual TLS, throwaway CA)
#   tunnel         zest tunnel --workers 1, pointed at that server
#   run            zest run (ZTUNNEL_WORKER_THREADS=1) in a throwaway network namespace with
#                  `zest cni serve`; only as root, measured once /healthz/ready answers 200
# waits (bounded) until each listens, lets it settle, and prints VmRSS, RssAnon, RssFile, Pss
# (/proc/<pid>/smaps_rollup) and the start-up peak (VmHWM): the COLD figure. Then it sends one
# connection through the tunnel pair to a loopback echo backend (RSS_WARM_BYTES, checked
# echoed back), waits RSS_WARM_IDLE_SECONDS and prints the same figures again for both tunnel
# processes: the WARM figure (idle after traffic), with the minor page faults that connection
# cost each process. Exit status 1 when a process is over budget, cold or warm, 2 when one did
# not start or the connection failed. Not a timing test: it only reads memory figures.
# Usage: Benchmarks/scripts/idle-rss.sh [--detail] [ZEST_BINARY]
#   default binary: .build/release/zest (build it with `make release`)
#   RSS_BUDGET_KIB (default 12288), RSS_SETTLE_SECONDS (default 1), RSS_WARM_BYTES (default
#   16384) and RSS_WARM_IDLE_SECONDS (default 2) override the defaults.
#   --detail also prints, per file, the resident and anonymous KiB of its mappings
#   (/proc/<pid>/smaps), largest first ("[anon]" = heap, stacks and other anonymous mappings).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
detail=0
if [ "${1:-}" = "--detail" ]; then detail=1; shift; fi
zest="${1:-$root/.build/release/zest}"
budget="${RSS_BUDGET_KIB:-12288}"
settle="${RSS_SETTLE_SECONDS:-1}"
warm_bytes="${RSS_WARM_BYTES:-16384}"
warm_idle="${RSS_WARM_IDLE_SECONDS:-2}"
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

launch=()
# shellcheck source=tunnel-pair.sh
source "$root/Benchmarks/scripts/tunnel-pair.sh"

field_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
pss_kib() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
minor_faults() { awk '{ sub(/.*\) /, ""); print $8 }' "/proc/$1/stat"; }
mib() { printf '%.1f' "$(bc -l <<<"$1/1024")"; }
over=0
# report LABEL PID [EXTRA]: one line of memory figures (after RSS_SETTLE_SECONDS) with the verdict.
report() {
    local name="$1" pid="$2" extra="${3:-}"
    sleep "$settle"
    local rss verdict="ok"
    rss=$(field_kib "$pid" VmRSS)
    if [ "$rss" -gt "$budget" ]; then verdict="OVER"; over=1; fi
    printf '%-19s VmRSS %5s MiB  RssAnon %4s  RssFile %4s  Pss %5s  start-up peak %4s MiB  threads %2s  budget %s MiB  %s%s\n' \
        "$name" "$(mib "$rss")" "$(mib "$(field_kib "$pid" RssAnon)")" "$(mib "$(field_kib "$pid" RssFile)")" \
        "$(mib "$(pss_kib "$pid")")" "$(mib "$(field_kib "$pid" VmHWM)")" "$(field_kib "$pid" Threads)" "$(mib "$budget")" \
        "$verdict" "$extra"
    if [ "$detail" = 1 ]; then
        # Per file over all its mappings: resident KiB and anonymous (copy-on-write) KiB.
        # Lines without a path are anonymous memory (heap, stacks).
        echo "    resident  anon  file"
        awk '$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { path = (NF >= 6) ? $6 : "[anon]"; if (path !~ /^\//) path = "[anon]" }
             $1 == "Rss:" { rss[path] += $2 } $1 == "Anonymous:" { anon[path] += $2 }
             END { for (p in rss) if (rss[p] > 0) printf "    %8d %5d  %s\n", rss[p], anon[p], p }' "/proc/$pid/smaps" \
            | sort -rn | head -12
    fi
}

make_certs
echo "binary: $zest ($(stat -c %s "$zest") bytes)"
start_server "$zest"
report tunnel-server "$server_pid"
start_backend
start_client "$zest"
report tunnel "$client_pid"

server_faults=$(minor_faults "$server_pid"); client_faults=$(minor_faults "$client_pid")
one_connection "$warm_bytes" || { echo "the connection through the tunnel pair failed" >&2; exit 2; }
sleep "$warm_idle"
cold_settle="$settle"; settle=0
report "tunnel-server warm" "$server_pid" "  (the connection: $(( $(minor_faults "$server_pid") - server_faults )) minor faults)"
report "tunnel warm" "$client_pid" "  (the connection: $(( $(minor_faults "$client_pid") - client_faults )) minor faults)"
settle="$cold_settle"

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
