import Glibc
import ZestCore

/// Why a telemetry server could not start listening.
public enum ListenError: Error, CustomStringConvertible, Equatable {
    case socket(errno: Int32)
    case bind(SocketAddress, errno: Int32)
    case listen(SocketAddress, errno: Int32)

    public var description: String {
        switch self {
        case .socket(let e):
            "socket() failed: \(String(cString: strerror(e))); is the file-descriptor limit reached?"
        case .bind(let a, let e):
            "cannot bind \(a): \(String(cString: strerror(e)))"
                + (e == EADDRINUSE ? "; another process (an older Zest or ztunnel?) holds the port, or pick another" : "")
        case .listen(let a, let e):
            "listen() on \(a) failed: \(String(cString: strerror(e)))"
        }
    }
}

/// A nonblocking TCP listening socket (`socket`, `bind`, `listen`), owned and closed by its server.
struct ListenSocket {
    let fd: Int32
    let localAddress: SocketAddress

    /// Binds and listens. `[::]` is dual-stack (IPV6_V6ONLY off), as ztunnel's `[::]` listeners are.
    init(address: SocketAddress, backlog: Int32 = 128) throws(ListenError) {
        let family = address.ip.isIPv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(errno: errno) }
        var one: Int32 = 1, zero: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if !address.ip.isIPv4 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = withSockaddr(address) { bind(fd, $0, $1) }
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw .bind(address, errno: e)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = errno
            close(fd)
            throw .listen(address, errno: e)
        }
        self.fd = fd
        self.localAddress = Self.localAddress(of: fd) ?? address
    }

    /// The bound address (`getsockname`), which carries the port the kernel chose for port 0.
    static func localAddress(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard ok == 0 else { return nil }
        return withUnsafeBytes(of: storage) { raw -> SocketAddress? in
            if Int32(storage.ss_family) == AF_INET {
                let sin = raw.load(as: sockaddr_in.self)
                return SocketAddress(ip: .v4(UInt32(bigEndian: sin.sin_addr.s_addr)), port: UInt16(bigEndian: sin.sin_port))
            }
            let sin6 = raw.load(as: sockaddr_in6.self)
            return SocketAddress(ip: IPAddress(in6: sin6.sin6_addr), port: UInt16(bigEndian: sin6.sin6_port))
        }
    }
}

/// Calls `body` with a `sockaddr` for `address` and its length.
func withSockaddr<R>(_ address: SocketAddress, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    switch address.ip {
    case .v4(let a):
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = address.port.bigEndian
        sin.sin_addr.s_addr = a.bigEndian
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    case .v6:
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = address.port.bigEndian
        let bytes = address.ip.bytes
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { dst in
            for i in 0..<16 { dst[i] = bytes[i] }
        }
        return withUnsafePointer(to: &sin6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}
