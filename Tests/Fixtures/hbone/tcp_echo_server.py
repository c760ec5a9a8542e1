"""TCP echo backend for the HBONE interop tests: echoes every byte, honours half-close
(shuts its write side after the client's EOF), serves connections concurrently.
Usage: tcp_echo_server.py HOST PORT  (prints "ready" once listening)."""
import socket
import sys
import threading


def serve(conn):
    with conn:
        while True:
            data = conn.recv(1 << 16)
            if not data:
                break
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(128)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
