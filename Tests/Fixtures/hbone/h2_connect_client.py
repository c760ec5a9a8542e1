"""A third-party HTTP/2 client (Python h2 over ssl) speaking raw HBONE to a server.
Sends one request with METHOD and AUTHORITY over mutual TLS (ALPN h2). On 200 it sends COUNT
deterministic bytes as DATA, ends its stream, reads DATA until the server ends its stream, and
prints "status=200 sent=<sha256> received=<sha256> bytes=<n>"; otherwise "status=<code>" (or
"reset=<code>" when the stream was reset).
Usage: h2_connect_client.py HOST PORT METHOD AUTHORITY CERT KEY CA COUNT"""
import hashlib
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events


def main():
    host, port, method, authority, cert, key, ca, count = sys.argv[1:9]
    port, count = int(port), int(count)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection((host, port), timeout=30))
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()

    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, validate_outbound_headers=False))  # h2 4.1 knows no RFC 9113 §8.5 CONNECT
    conn.initiate_connection()
    conn.increment_flow_control_window(16 << 20)
    headers = [(":method", method), (":authority", authority)]
    if method != "CONNECT":
        headers += [(":scheme", "https"), (":path", "/")]
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers, end_stream=method != "CONNECT")
    sock.sendall(conn.data_to_send())

    block = bytes((i * 7 + 3) & 0xFF for i in range(1 << 16))
    sent, received = hashlib.sha256(), hashlib.sha256()
    status, got, left, i, done, sent_end = None, 0, count, 0, False, False
    pending = b""
    while not done:
        # Send what flow control allows once the tunnel is open.
        while status == "200" and not sent_end:
            if not pending:
                if left == 0:
                    conn.end_stream(sid)
                    sent_end = True
                    break
                pending = bytes([i & 0xFF]) + block[1:min(left, len(block))]
                sent.update(pending)
                left -= len(pending)
                i += 1
            window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if window <= 0:
                break
            conn.send_data(sid, pending[:window])
            pending = pending[window:]
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        data = sock.recv(1 << 16)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                status = dict(ev.headers)[b":status"].decode()
                if status != "200":
                    done = True
            elif isinstance(ev, h2.events.DataReceived):
                received.update(ev.data)
                got += len(ev.data)
                conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            elif isinstance(ev, h2.events.StreamEnded):
                done = True
            elif isinstance(ev, h2.events.StreamReset):
                # RST_STREAM NO_ERROR after a complete response only stops the request body
                # (RFC 9113 §8.1); it may arrive in the same read as the response.
                if ev.error_code == 0 and status is not None and status != "200":
                    done = True
                    continue
                print(f"reset={ev.error_code}", flush=True)
                return
    if status == "200":
        print(f"status=200 sent={sent.hexdigest()} received={received.hexdigest()} bytes={got}", flush=True)
    else:
        print(f"status={status}", flush=True)


main()
