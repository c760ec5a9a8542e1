"""Waits until a TCP connect to HOST:PORT succeeds or DEADLINE seconds pass (exit 1).
Usage: wait_port.py HOST PORT [DEADLINE]"""
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 10)
while True:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.05)
