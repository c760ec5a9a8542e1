#!/usr/bin/env python3
"""Prints the demo's report from the files demo.sh collected: the pods' own call logs, the
payments-api app's view of its peers, Zest's metrics (istio_tcp_*, workload_manager_*) and
Zest's access log."""
import os, re, sys

run, enroll_at, enrolled_at, app_pids = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split()

def calls(name):
    before, after = {"ok": 0, "fail": 0}, {"ok": 0, "fail": 0}
    last_fail = ""
    for line in open(f"{run}/{name}.calls"):
        ts, verdict, *rest = line.split(" ", 2)
        t = float(ts)
        if t < enroll_at:
            before[verdict] += 1
        elif t >= enrolled_at:
            after[verdict] += 1
            if verdict == "fail":
                last_fail = rest[0].strip() if rest else ""
    return before, after, last_fail

def samples(path):
    out = []
    for line in open(path):
        m = re.match(r'^(\w+)\{(.*)\} (\S+)$', line.strip())
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
            out.append((m.group(1), labels, float(m.group(3))))
        else:
            m = re.match(r'^(\w+) (\S+)$', line.strip())
            if m:
                out.append((m.group(1), {}, float(m.group(2))))
    return out

print()
print("Pods kept running through enrollment (same PIDs, never restarted):",
      ", ".join(f"{p} {'alive' if os.path.exists(f'/proc/{p}') else 'GONE'}" for p in app_pids))
print()
print("Calls to payments-api:8080, as the client pods saw them")
print(f"  {'client':<12} {'before Zest (plaintext)':<26} {'after enrollment (via Zest)':<28}")
verdicts = {}
for name, who in (("orders", "orders-api"), ("web", "web")):
    b, a, why = calls(name)
    verdicts[who] = a
    after = f"{a['ok']} ok, {a['fail']} failed" + (f" ({why})" if why else "")
    print(f"  {who:<12} {b['ok']} ok, {b['fail']} failed{'':<11} {after}")

peers = {}
for line in open(f"{run}/payments.log"):
    if line.startswith("conn "):
        _, ts, peer = line.split()
        if float(ts) >= enrolled_at:
            ip = peer.rsplit(":", 1)[0]
            peers[ip] = peers.get(ip, 0) + 1
print()
print("payments-api app, connections accepted after enrollment, by the client address it saw:")
for ip, n in sorted(peers.items()):
    print(f"  {ip:<12} {n}")

for node in ("node1", "node2"):
    s = samples(f"{run}/{node}.metrics")
    print()
    print(f"Zest on {node}: metrics")
    for name, labels, value in s:
        if name.startswith("workload_manager_") and value:
            print(f"  {name} {int(value)}")
    rows = {}
    for name, labels, value in s:
        if name.startswith("istio_tcp_") and value:
            key = (labels.get("reporter"), labels.get("source_workload"), labels.get("destination_workload"),
                   labels.get("connection_security_policy"), labels.get("response_flags", ""))
            rows.setdefault(key, {})[name.replace("istio_tcp_", "").replace("_total", "")] = int(value)
    for (reporter, src, dst, sec, flags), v in sorted(rows.items(), key=lambda kv: str(kv[0])):
        print(f"  reporter={reporter} {src} -> {dst} [{sec}{' ' + flags if flags and flags != '-' else ''}]: "
              f"opened {v.get('connections_opened', 0)}, closed {v.get('connections_closed', 0)}, "
              f"bytes received {v.get('received_bytes', 0)}, sent {v.get('sent_bytes', 0)}")

print()
print("Zest access log (last line per node, direction and pair; one line per completed connection):")
for node in ("node1", "node2"):
    last = {}
    for line in open(f"{run}/{node}.zest.log"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 5 and parts[2] == "access":
            f = {k: v.strip('"') for k, v in re.findall(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)', parts[4])}
            key = (f.get("direction"), f.get("src.workload"), f.get("dst.workload"))
            text = (f"{f.get('direction', '?'):<8} {f.get('src.workload', f.get('src.addr'))} "
                    f"({f.get('src.identity', 'no identity')}) -> {f.get('dst.workload', f.get('dst.addr'))} "
                    f"sent={f.get('bytes_sent')} recv={f.get('bytes_recv')} {f.get('duration')}")
            if "error" in f:
                text += f"  error: {f['error']}"
            last[key] = text
    for key in sorted(last, key=str):
        print(f"  {node}: {last[key]}")

ok = verdicts["orders-api"]["ok"] > 0 and verdicts["orders-api"]["fail"] == 0 and \
     verdicts["web"]["ok"] == 0 and verdicts["web"]["fail"] > 0
print()
print("RESULT:", "orders-api -> payments-api allowed over mTLS, web -> payments-api denied, as the policies say"
      if ok else "UNEXPECTED: see the figures above")
sys.exit(0 if ok else 1)
