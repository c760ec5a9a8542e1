#!/usr/bin/env bash
# TLS layer benchmark (docs/bench/tls.md). Each figure is a ratio against a baseline measured
# in the same run, interleaved, because the machine is shared and noisy:
#  - bulk: one TLS 1.3 mTLS connection over loopback through Zest's TLS layer, each end on its
#    own reactor thread, vs `openssl speed -evp aes-256-gcm` (16 KiB column, one core). openssl
#    speed counts user CPU time, so Zest is reported per CPU-second of the whole process (both
#    threads, user+kernel: encryption, decryption and both socket copies) as well as wall MB/s;
#  - handshakes: full mTLS handshakes per CPU-second, client and server on one thread (one core),
#    vs the same loop written against OpenSSL's C API (tls-handshake-baseline.c).
# Usage: Benchmarks/scripts/tls-bench.sh [runs=3] [megabytes=2048] [handshakes=1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}; megabytes=${2:-2048}; handshakes=${3:-1000}
make --no-print-directory release >/dev/null
zest=.build/release/zest
work=$(mktemp -d /tmp/zest-tls-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
$zest ca issue --state-dir "$work/ca" --identity spiffe://cluster.local/ns/bench/sa/server --out-dir "$work/server" >/dev/null
$zest ca issue --state-dir "$work/ca" --identity spiffe://cluster.local/ns/bench/sa/client --out-dir "$work/client" >/dev/null
cc -O2 -o "$work/baseline" Benchmarks/scripts/tls-handshake-baseline.c -lssl -lcrypto

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
gcm_speed() { # MB/s of one core at 16 KiB blocks
  openssl speed -evp "$1" -seconds 2 2>/dev/null | awk -v n="$(echo "$1" | tr a-z A-Z)" '$1==n {v=$NF; sub("k","",v); printf "%.1f\n", v*1000/1e6}'
}

for f in wall256 cpu256 wall128 cpu128 gcm256 gcm128 hz hc hzwall hcwall; do : > "$work/$f"; done
for i in $(seq "$runs"); do
  gcm_speed aes-256-gcm >> "$work/gcm256"
  out=$($zest bench-tls bulk --server-dir "$work/server" --client-dir "$work/client" --megabytes "$megabytes" --suite aes256)
  field MBps <<< "$out" >> "$work/wall256"; field MB_per_cpu_second <<< "$out" >> "$work/cpu256"
  gcm_speed aes-128-gcm >> "$work/gcm128"
  out=$($zest bench-tls bulk --server-dir "$work/server" --client-dir "$work/client" --megabytes "$megabytes" --suite aes128)
  field MBps <<< "$out" >> "$work/wall128"; field MB_per_cpu_second <<< "$out" >> "$work/cpu128"
  out=$("$work/baseline" "$work/server" "$work/client" "$handshakes" TLS_AES_256_GCM_SHA384)
  field per_cpu_second <<< "$out" >> "$work/hc"; field per_second <<< "$out" >> "$work/hcwall"
  out=$($zest bench-tls handshakes --server-dir "$work/server" --client-dir "$work/client" --count "$handshakes")
  field per_cpu_second <<< "$out" >> "$work/hz"; field per_second <<< "$out" >> "$work/hzwall"
done

m() { median < "$work/$1"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
echo "runs=$runs megabytes=$megabytes handshakes=$handshakes (medians; every run listed below)"
echo "bulk AES-256-GCM: zest $(m cpu256) MB per CPU-second ($(m wall256) MB/s wall) vs openssl speed 16KiB $(m gcm256) MB/s  ratio $(ratio "$(m cpu256)" "$(m gcm256)")"
echo "bulk AES-128-GCM: zest $(m cpu128) MB per CPU-second ($(m wall128) MB/s wall) vs openssl speed 16KiB $(m gcm128) MB/s  ratio $(ratio "$(m cpu128)" "$(m gcm128)")"
echo "full mTLS handshakes per CPU-second (client+server): zest $(m hz) vs C API loop $(m hc)  ratio $(ratio "$(m hz)" "$(m hc)")"
for f in cpu256 wall256 gcm256 cpu128 wall128 gcm128 hz hzwall hc hcwall; do echo "  $f: $(tr '\n' ' ' < "$work/$f")"; done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
