"""Former Python clients and backend of the HBONE benchmark, now a launcher of the native tool
HBONELoad (Benchmarks/Sources/HBONELoad), which speaks the same protocol ("E" echo, "S" sink
answering an 8-byte big-endian count; HBONELoad's own throughput client also sends a pattern the
backend checks) and prints the same first fields, so scripts that run
`python3 bench_peers.py MODE HOST PORT ...` measure the proxies, not a Python generator.
Usage:
  bench_peers.py backend HOST PORT
  bench_peers.py throughput HOST PORT BYTES            -> seconds cpu_seconds
  bench_peers.py pingpong HOST PORT ROUNDS SIZE        -> p50_us p99_us
  bench_peers.py connect HOST PORT COUNT               -> connections_per_second p50_us p99_us
  bench_peers.py hold HOST PORT COUNT                  -> "held"; keeps COUNT echo connections
                                                          open until stdin closes"""
import os
import sys

LOAD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".build/release/HBONELoad")

if not os.access(LOAD, os.X_OK):
    sys.exit(f"bench_peers: no {LOAD}; run `swift build -c release --package-path Benchmarks --product HBONELoad`")
os.execv(LOAD, [LOAD, *sys.argv[1:]])
