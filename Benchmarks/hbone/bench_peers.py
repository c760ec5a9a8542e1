"""Client and backend programs for the HBONE benchmark (run inside network namespaces by
hbone_bench.py). The backend reads one mode byte per connection: "E" echoes, "S" discards
and answers the byte count (8 bytes, big-endian) after the client's EOF.
Usage:
  bench_peers.py backend HOST PORT
  bench_peers.py throughput HOST PORT BYTES            -> seconds
  bench_peers.py pingpong HOST PORT ROUNDS SIZE        -> p50_us p99_us
  bench_peers.py connect HOST PORT COUNT               -> connections_per_second
  bench_peers.py hold HOST PORT COUNT                  -> prints "held", keeps COUNT echo
                                                          connections open until stdin closes"""
import resource
import socket
import struct
import sys
import threading
import time


def serve(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(4096)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=dispatch, args=(conn,), daemon=True).start()


def dispatch(conn):
    mode = conn.recv(1)
    if mode == b"E":
        echo(conn)
    elif mode == b"S":
        sink(conn)
    else:
        conn.close()


def echo(conn):
    with conn:
        while True:
            data = conn.recv(1 << 16)
            if not data:
                break
            conn.sendall(data)


def sink(conn):
    with conn:
        buf = bytearray(1 << 20)
        total = 0
        while True:
            n = conn.recv_into(buf)
            if n == 0:
                break
            total += n
        conn.sendall(struct.pack("!Q", total))


def connect(host, port, mode=b"E"):
    s = socket.create_connection((host, port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(mode)
    return s


def throughput(host, port, count):
    block = memoryview(bytes(1 << 20))
    start = time.perf_counter()
    s = connect(host, port, b"S")
    left = count
    while left > 0:
        n = min(left, len(block))
        s.sendall(block[:n])
        left -= n
    s.shutdown(socket.SHUT_WR)
    got = b""
    while len(got) < 8:
        d = s.recv(8 - len(got))
        if not d:
            break
        got += d
    elapsed = time.perf_counter() - start
    assert len(got) == 8 and struct.unpack("!Q", got)[0] == count, got
    print(f"{elapsed:.6f}")


def pingpong(host, port, rounds, size):
    s = connect(host, port)
    msg = bytes(size)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        s.sendall(msg)
        got = 0
        while got < size:
            got += len(s.recv(size - got))
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"{times[len(times) // 2] * 1e6:.1f} {times[int(len(times) * 0.99)] * 1e6:.1f}")


def connects(host, port, count):
    start = time.perf_counter()
    for _ in range(count):
        s = connect(host, port)
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        s.close()
    print(f"{count / (time.perf_counter() - start):.1f}")


def hold(host, port, count):
    resource.setrlimit(resource.RLIMIT_NOFILE, (count + 256, count + 256))
    held = []
    for _ in range(count):
        s = connect(host, port)
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        held.append(s)
    print("held", flush=True)
    sys.stdin.read()


def main():
    mode = sys.argv[1]
    if mode == "backend":
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
        serve(sys.argv[2], int(sys.argv[3]))
    host, port = sys.argv[2], int(sys.argv[3])
    if mode == "throughput":
        throughput(host, port, int(sys.argv[4]))
    elif mode == "pingpong":
        pingpong(host, port, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "connect":
        connects(host, port, int(sys.argv[4]))
    elif mode == "hold":
        hold(host, port, int(sys.argv[4]))


main()
