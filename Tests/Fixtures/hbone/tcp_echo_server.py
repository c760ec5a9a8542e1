"""TCP echo backend for the HBONE interop tests: echoes every byte, honours half-close
(shuts its write side after the client's EOF), serves connections concurrently.
With "late", it answers only after the client's EOF (it prints "eof", waits 0.5 s, then
sends everything it read and FIN): a half-close with a late answer.
Usage: tcp_echo_server.py HOST PORT [late]  (prints "ready" once listening)."""
import socket
import sys
import threading
import time


def serve(conn, late):
    with conn:
        kept = []
        while True:
            data = conn.recv(1 << 16)
            if not data:
                break
            if late:
                kept.append(data)
            else:
                conn.sendall(data)
        if late:
            # Tell the test the client's EOF arrived, then answer a little later.
            print("eof", flush=True)
            time.sleep(0.5)
        for data in kept:
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    late = len(sys.argv) > 3 and sys.argv[3] == "late"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(128)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, late), daemon=True).start()


main()
