import Foundation
import ZestCore
import ZestReactor
import ZestTestSupport

/// The "pod application" of the proxy tests: a Python echo server started in a pod namespace
/// before enrollment, listening on the port given and on `0.0.0.0` or the address given (`::`
/// is dual stack). Each connection first gets one line naming the peer address the app sees
/// (an IPv4 client of a dual-stack socket as plain IPv4, not `::ffff:a.b.c.d`) and the app's
/// process id, then every byte is echoed back until end of stream.
enum EchoApp {
    static let script = """
    import os, socket, sys, threading
    host = sys.argv[2] if len(sys.argv) > 2 else "0.0.0.0"
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if ":" in host:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(sys.argv[1])))
    s.listen(128)
    def serve(c, a):
        try:
            peer = a[0][7:] if a[0].startswith("::ffff:") and "." in a[0] else a[0]
            c.sendall(("PEER %s PID %d\\n" % (peer, os.getpid())).encode())
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, a = s.accept()
        threading.Thread(target=serve, args=(c, a), daemon=True).start()
    """

    /// What one exchange with the echo app showed.
    struct Exchange {
        var peer: String
        var pid: Int32
        var sentDigest: String
        var echoedDigest: String
        var echoedCount: Int
    }

    /// Reads the greeting line from a fresh connection: (peer IP, app pid).
    static func greeting(_ socket: Socket) throws -> (peer: String, pid: Int32) {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count < 200 {
            let r = try withUnsafeMutableBytes(of: &byte) { try socket.read(into: $0.baseAddress!, count: 1) }
            guard case .processed(1) = r else { throw TopologyError("no greeting from the app (connection ended or timed out)") }
            if byte == 0x0a { break }
            line.append(byte)
        }
        let parts = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard parts.count == 4, parts[0] == "PEER", let pid = Int32(parts[3]) else {
            throw TopologyError("unexpected greeting \(String(decoding: line, as: UTF8.self))")
        }
        return (String(parts[1]), pid)
    }

    /// Sends `payload`, closes the write side, and reads the echo to end of stream on a
    /// second thread (so neither direction can stall the other). Returns the sha256 of both.
    static func echo(_ socket: Socket, payload: [UInt8]) throws -> (sent: String, echoed: String, count: Int) {
        let reader = EchoReader(socket)
        let thread = Thread { reader.run() }
        thread.start()
        try payload.withUnsafeBytes { try socket.writeAll($0.baseAddress!, count: $0.count) }
        try socket.shutdownWrite()
        guard reader.done.wait(timeout: .now() + 20) == .success else { throw TopologyError("echo did not finish") }
        if let error = reader.error { throw error }
        var d = SHA256Digest()
        d.update(payload)
        return (d.finalize(), reader.digest, reader.count)
    }

    /// Random bytes with `marker` at the start (what the packet capture looks for).
    static func payload(count: Int, marker: String) -> [UInt8] {
        var bytes = Array(marker.utf8)
        var rng = SystemRandomNumberGenerator()
        while bytes.count < count { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
        return bytes
    }
}

/// Reads a socket to end of stream on its own thread, hashing as it goes.
final class EchoReader: @unchecked Sendable {
    // Written only by the reader thread before `done` is signalled, read after.
    private let socket: Socket
    let done = DispatchSemaphore(value: 0)
    var digest = ""
    var count = 0
    var error: (any Error)?

    init(_ socket: Socket) { self.socket = socket }

    func run() {
        var d = SHA256Digest()
        var buffer = [UInt8](repeating: 0, count: 65536)
        do {
            loop: while true {
                let r = try buffer.withUnsafeMutableBytes { try socket.read(into: $0.baseAddress!, count: $0.count) }
                switch r {
                case .processed(0): break loop
                case .processed(let n):
                    count += n
                    buffer.withUnsafeBytes { d.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                case .wouldBlock: throw TopologyError("echo read timed out after \(count) bytes")
                }
            }
        } catch {
            self.error = error
        }
        digest = d.finalize()
        done.signal()
    }
}
