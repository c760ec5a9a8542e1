import Glibc
import ZestCore

/// A TCP listener on 127.0.0.1 with a kernel-chosen port, closed on deinit.
public final class LoopbackListener {
    public let fd: Int32
    public let port: UInt16

    public init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        precondition(ok, "loopback listener failed: \(errno)")
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
    }

    /// The listener's address, 127.0.0.1:`port`.
    public var address: SocketAddress { SocketAddress(ip: IPAddress("127.0.0.1")!, port: port) }

    /// Accepts one connection within `ms`, returned nonblocking; nil on timeout.
    public func accept(ms: Int32 = 10_000) -> OwnedSocket? {
        acceptWithPeer(ms: ms)?.socket
    }

    /// Accepts one connection within `ms` and says which address it came from.
    public func acceptWithPeer(ms: Int32 = 10_000) -> (socket: OwnedSocket, peer: SocketAddress)? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, ms) == 1 else { return nil }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let c = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &len) } }
        guard c >= 0 else { return nil }
        _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
        guard let peer = SocketAddress(storage: storage) else { close(c); return nil }
        return (OwnedSocket(c), peer)
    }

    deinit { close(fd) }
}

/// A socket closed on deinit.
public final class OwnedSocket {
    public let fd: FileDescriptor
    public init(_ raw: Int32) { fd = FileDescriptor(rawValue: raw) }
    deinit { close(fd.rawValue) }

    /// Connects to 127.0.0.1:`port` (blocking connect, then nonblocking).
    public static func connect(port: UInt16) -> OwnedSocket? {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { close(s); return nil }
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
        return OwnedSocket(s)
    }
}
