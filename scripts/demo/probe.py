#!/usr/bin/env python3
"""Tiny TCP app for Zest's demo and node tests; runs inside a pod's network namespace.

  probe.py serve PORT NAME [HOST] echo server on HOST (0.0.0.0; "::" is dual stack); answers
                                  "NAME sees PEER_IP\n" first, logs "conn TIME PEER_IP:PORT"
  probe.py connect HOST PORT      one connection: print the greeting, exit 0; exit 1 with the error
  probe.py hold HOST PORT         one long-lived connection; echoes every stdin line through it
  probe.py loop HOST PORT SECONDS INTERVAL   short connections until SECONDS pass; prints a summary
  probe.py every HOST PORT INTERVAL LOG      a connection every INTERVAL seconds forever, one line each in LOG
"""
import socket, sys, threading, time, errno

def serve(port, name, host="0.0.0.0"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if ":" in host:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(512)
    print(f"listening {port}", flush=True)
    def handle(c, peer):
        try:
            ip = peer[0][7:] if peer[0].startswith("::ffff:") and "." in peer[0] else peer[0]
            c.sendall(f"{name} sees {ip}\n".encode())
            while True:
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, peer = s.accept()
        print(f"conn {time.time():.3f} {peer[0]}:{peer[1]}", flush=True)
        threading.Thread(target=handle, args=(c, peer), daemon=True).start()

def greet(host, port, timeout=3.0):
    c = socket.create_connection((host, port), timeout=timeout)
    f = c.makefile("rb")
    line = f.readline().decode().strip()
    if not line:
        c.close()
        raise OSError("closed before the greeting")
    return c, f, line

def connect(host, port):
    try:
        c, f, line = greet(host, port)
        c.sendall(b"ping\n")
        echo = f.readline().decode().strip()
        c.close()
        if echo != "ping":
            print(f"fail no echo ({echo!r})", flush=True)
            return 1
        print(f"ok {line}", flush=True)
        return 0
    except OSError as e:
        print(f"fail {e}", flush=True)
        return 1

def hold(host, port):
    c, f, line = greet(host, port, timeout=10.0)
    print(f"greeting {line}", flush=True)
    for text in sys.stdin:
        c.sendall(text.encode())
        echo = f.readline().decode()
        if not echo:
            print("closed", flush=True)
            return 1
        print(f"echo {echo.strip()}", flush=True)
    c.close()
    return 0

def loop(host, port, seconds, interval):
    counts = {}
    end = time.time() + seconds
    while time.time() < end:
        try:
            c, f, line = greet(host, port)
            c.close()
            key = "ok"
        except ConnectionRefusedError:
            key = "refused"
        except OSError as e:
            key = f"error {e.__class__.__name__}"
        counts[key] = counts.get(key, 0) + 1
        time.sleep(interval)
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())), flush=True)
    return 0

def every(host, port, interval, log):
    with open(log, "a", buffering=1) as out:
        while True:
            try:
                c, f, line = greet(host, port)
                c.sendall(b"ping\n")
                f.readline()
                c.close()
                out.write(f"{time.time():.3f} ok {line}\n")
            except OSError as e:
                out.write(f"{time.time():.3f} fail {e}\n")
            time.sleep(interval)

if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "serve":
        serve(int(a[1]), a[2], *a[3:4])
    elif a[0] == "connect":
        sys.exit(connect(a[1], int(a[2])))
    elif a[0] == "hold":
        sys.exit(hold(a[1], int(a[2])))
    elif a[0] == "loop":
        sys.exit(loop(a[1], int(a[2]), float(a[3]), float(a[4])))
    elif a[0] == "every":
        every(a[1], int(a[2]), float(a[3]), a[4])
    else:
        sys.exit(__doc__)
