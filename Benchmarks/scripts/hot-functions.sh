#!/usr/bin/env bash
# Writes the link order of the release build (scripts/zest-link-order.txt): the functions of the
# zest executable that one tunnelled connection runs, so that the linker puts them next to each
# other. Why: the kernel maps code in 64 KiB fault-around blocks, so the few hundred KiB of code
# a connection runs, spread over the 17 MB .text, kept ~4 MiB per process resident after the
# first connection (docs/bench/rss.md).
#
# How: starts the tunnel pair of idle-rss.sh (tunnel-pair.sh) under valgrind's callgrind, zeroes
# the counters once both listen, sends one checked connection through them, waits 2 s, dumps the
# counters and keeps every function of the executable with a non-zero cost in either process.
# Each becomes a gold --section-ordering-file line ".text.<mangled name>" (the build compiles with
# function sections, see RELEASE_FLAGS in the Makefile). Names that no longer exist are ignored
# by the linker, functions missing from the list stay where they were: a stale list costs memory,
# never correctness. Re-run after larger data-path changes, then `make release` and idle-rss.sh.
# Usage: Benchmarks/scripts/hot-functions.sh [ZEST_BINARY]   (needs valgrind; ~1 min)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
zest="${1:-$root/.build/release/zest}"
out="$root/scripts/zest-link-order.txt"
[ -x "$zest" ] || { echo "no zest binary at $zest: run 'make release' first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "hot-functions.sh needs valgrind (apt-get install valgrind)" >&2; exit 2; }

work="$(mktemp -d /tmp/zest-hot-functions.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tunnel-pair.sh
source "$root/Benchmarks/scripts/tunnel-pair.sh"

# valgrind 3.19 (Debian 12) cannot read the DWARF 5 of the Swift toolchain's clang: profile a
# copy without debug sections (same code and symbols).
objcopy --strip-debug "$zest" "$work/zest"
# LD_BIND_NOW: the commands would otherwise run themselves again with it (EagerBinding), which
# valgrind cannot follow; the profile is then of the image that serves in production too.
launch=(env LD_BIND_NOW=1 valgrind --tool=callgrind --demangle=no --dump-instr=no --collect-jumps=no "--callgrind-out-file=$work/callgrind.%p")
wait_seconds=120
make_certs
start_server "$work/zest"
start_backend
start_client "$work/zest"
sleep 2  # both have released their start-up pages and sit in epoll_wait
callgrind_control -z "$server_pid" >/dev/null 2>&1
callgrind_control -z "$client_pid" >/dev/null 2>&1
one_connection 16384 || { echo "the connection through the tunnel pair failed" >&2; exit 2; }
sleep 2
callgrind_control -d "$server_pid" >/dev/null 2>&1
callgrind_control -d "$client_pid" >/dev/null 2>&1

python3 - "$work/zest" "$out" "$work/callgrind.$server_pid.1" "$work/callgrind.$client_pid.1" <<'EOF'
import re, sys
binary, out, dumps = sys.argv[1], sys.argv[2], sys.argv[3:]
hot = set()
for path in dumps:
    names = {"ob": {}, "fn": {}}
    obj = fn = None
    after_calls = False
    for line in open(path):
        key, eq, value = line.rstrip("\n").partition("=")
        if eq and key in ("ob", "cob", "fn", "cfn"):
            table = key[-2:]
            m = re.match(r"\((\d+)\)(?: (.*))?$", value)
            name = value
            if m:
                if m.group(2) is not None:
                    names[table][m.group(1)] = m.group(2)
                name = names[table].get(m.group(1))
            if key == "ob": obj = name
            elif key == "fn": fn = name
            continue
        if eq and key == "calls":
            after_calls = True  # the next cost line is the callee's inclusive cost
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            if after_calls:
                after_calls = False
                continue
            fields = line.split()
            if obj == binary and fn and len(fields) >= 2 and int(fields[1]) > 0:
                hot.add(fn.split("'")[0])  # "'2": callgrind's recursion depth suffix
hot = sorted(f for f in hot if not f.startswith("0x"))
if len(hot) < 100:
    sys.exit(f"only {len(hot)} functions profiled: the connection did not run through the pair?")
with open(out, "w") as f:
    f.writelines(f".text.{name}\n" for name in hot)
print(f"{out}: {len(hot)} functions")
EOF
