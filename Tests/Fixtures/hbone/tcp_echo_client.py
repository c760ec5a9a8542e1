"""Sends COUNT deterministic bytes to HOST:PORT, half-closes, reads the echo until EOF and
prints "sent=<sha256> received=<sha256> bytes=<n>" per connection. Retries the connect until
DEADLINE seconds pass. With PARALLEL > 1, runs that many connections at once (distinct data).
Usage: tcp_echo_client.py HOST PORT COUNT [DEADLINE] [PARALLEL]"""
import hashlib
import socket
import sys
import threading
import time


def one(host, port, count, deadline, salt, out):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        try:
            s = socket.create_connection((host, port), timeout=30) if family == socket.AF_INET else \
                socket.create_connection((host, port, 0, 0), timeout=30)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    block = bytes((i * 7 + 3) & 0xFF for i in range(1 << 16))
    sent = hashlib.sha256()
    received = hashlib.sha256()
    got = [0]

    def reader():
        while True:
            data = s.recv(1 << 16)
            if not data:
                return
            received.update(data)
            got[0] += len(data)

    t = threading.Thread(target=reader)
    t.start()
    left = count
    i = 0
    while left > 0:
        chunk = block[: min(left, len(block))]
        chunk = bytes([(i + salt) & 0xFF]) + chunk[1:]
        s.sendall(chunk)
        sent.update(chunk)
        left -= len(chunk)
        i += 1
    s.shutdown(socket.SHUT_WR)
    t.join(timeout=60)
    out.append(f"sent={sent.hexdigest()} received={received.hexdigest()} bytes={got[0]}")


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    deadline = time.time() + (float(sys.argv[4]) if len(sys.argv) > 4 else 10)
    parallel = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    out = []
    threads = [threading.Thread(target=one, args=(host, port, count, deadline, n, out)) for n in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("\n".join(out), flush=True)


main()
