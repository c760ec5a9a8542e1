"""Where the CPU of the single-stream throughput run goes, Zest pair vs Envoy pair, on
hbone_bench.py's topology: a `perf record -e cpu-clock` sample of both proxies of each pair
while HBONELoad pushes the same bytes through it, split by library, with the AES-GCM code
found and disassembled so the two crypto libraries can be compared instruction for
instruction.

The VM has no PMU, so the samples come from the cpu-clock timer; shares are reliable, the
exact instruction a sample lands on is not. The AES-GCM code is located as the hottest
4 KiB page of libcrypto (Zest) and of the envoy binary (BoringSSL is linked in, stripped),
with its two neighbours: in both runs that is the stitched AES-GCM loop. The script then counts its AES
instructions by register width: `vaesenc %ymm` (VAES, two blocks per instruction) against
`vaesenc %xmm` (AES-NI, one block).

Usage (root, package root, after `make release`; Envoy from .venv):
  python3 Benchmarks/hbone/hbone_profile.py [--gib 1] [--no-build]
Prints a Markdown table per pair and the `openssl speed` figure for AES-128-GCM as baseline."""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hbone_bench as hb  # noqa: E402  (topology, load tool and proxy launch)


def perf_report(data, *args):
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "-g", "none", "-q", *args],
                         capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def shares_by_dso(data):
    return {row[1]: float(row[0].rstrip("%")) for row in perf_report(data, "--sort", "dso") if len(row) >= 2}


def hottest_page(data, dso):
    """(share %, page address) of the 4 KiB page of `dso` with the most samples; the share
    counts that page and its two neighbours (the AES-GCM loop is larger than a page)."""
    pages = collections.Counter()
    for row in perf_report(data, "--dso", dso, "--sort", "sym"):
        if len(row) >= 3 and row[2].startswith("0x"):
            pages[int(row[2], 16) >> 12 << 12] += float(row[0].rstrip("%"))
    if not pages:
        raise hb.BenchError(f"no unsymbolised samples in {dso}: is it stripped as expected?")
    page, _ = pages.most_common(1)[0]
    return sum(pages[p] for p in (page - 4096, page, page + 4096)), page


def aes_widths(path, page):
    """Counts of vaesenc/vaesenclast by register width in [page - 4 KiB, page + 8 KiB) of `path`."""
    out = subprocess.run(["objdump", "-d", f"--start-address={page - 4096:#x}", f"--stop-address={page + 8192:#x}", path],
                         capture_output=True, text=True, check=True).stdout
    return collections.Counter(m.group(1) for m in re.finditer(r"\bvaesenc(?:last)?\s+%([xyz]mm)", out))


def dso_path(data, name):
    """The file perf mapped for `name` (from the build-id list)."""
    out = subprocess.run(["perf", "buildid-list", "-i", data], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and os.path.basename(parts[1]).startswith(name):
            return parts[1]
    raise hb.BenchError(f"perf recorded no mapping for {name}")


def openssl_speed():
    out = subprocess.run(["openssl", "speed", "-seconds", "2", "-bytes", "16384", "-evp", "aes-128-gcm"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("AES-128-GCM"):
            return float(line.split()[1].rstrip("k")) * 1000 / 1e9
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gib", type=float, default=1.0, help="GiB pushed through each pair while sampling")
    ap.add_argument("--no-build", action="store_true", help="use the HBONELoad binary as it is")
    o = ap.parse_args()
    o.pin, o.zest_arg = "none", []
    if not shutil.which("perf") or not shutil.which("objdump"):
        raise hb.BenchError("needs perf (linux-perf) and objdump (binutils)")
    zest, envoy = hb.find_binaries(None, None)
    if not o.no_build:
        hb.build_load_tool()
    count = int(o.gib * (1 << 30))
    crypto = {"zest": "libcrypto.so", "envoy": "envoy"}
    with hb.launched(o, zest, envoy, "zest-hbone-profile-") as bench:
        time.sleep(1)
        print(f"HBONE CPU profile: {o.gib} GiB through each pair, perf cpu-clock at 4999 Hz, both proxies of a pair\n")
        for v in ("zest", "envoy"):
            data = f"{bench.d}/perf-{v}.data"
            pids = ",".join(map(str, bench.pids(v)))
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "4999", "-o", data, "-p", pids],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            before = sum(hb.cpu_seconds(p) for p in bench.pids(v))
            hb.peer("throughput", v, count)
            cpu = sum(hb.cpu_seconds(p) for p in bench.pids(v)) - before
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
            per_gb = cpu / (count / 1e9)
            dsos = shares_by_dso(data)
            name = next((k for k in dsos if k.startswith(crypto[v])), crypto[v])
            share, page = hottest_page(data, name)
            widths = aes_widths(dso_path(data, crypto[v]), page)
            print(f"### {v}: {per_gb:.2f} CPU-s per GB (both proxies)\n")
            print("| where | share | CPU-s per GB |\n|---|---|---|")
            for dso, pct in sorted(dsos.items(), key=lambda kv: -kv[1])[:6]:
                print(f"| {dso} | {pct:.1f} % | {pct / 100 * per_gb:.2f} |")
            print(f"| of which the AES-GCM loop (hottest page of {name}, {page:#x}, ± 4 KiB) | {share:.1f} % | {share / 100 * per_gb:.2f} |")
            print(f"\nAES instructions around that page: " + ", ".join(f"vaesenc %{w}: {n}" for w, n in sorted(widths.items()))
                  + ("  (VAES, 2 blocks per instruction)" if widths.get("ymm") else "  (AES-NI, 1 block per instruction)") + "\n")
        print(f"openssl speed -evp aes-128-gcm, 16 KiB, one core: {openssl_speed():.2f} GB/s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("hbone_profile: terminated"))
    try:
        main()
    except (hb.BenchError, subprocess.CalledProcessError) as err:
        sys.exit(f"hbone_profile: {err}")
