import Glibc
import ZestCore

/// Why a telemetry server could not start listening.
public enum ListenError: Error, CustomStringConvertible, Equatable {
    case socket(errno: Int32)
    case bind(SocketAddress, errno: Int32)
    case listen(SocketAddress, errno: Int32)

    public var description: String {
        switch self {
        case .socket(let e) where e == EAFNOSUPPORT:
            "socket() failed: \(String(cString: strerror(e))); this host has no IPv6: listen on 0.0.0.0:port instead of [::]:port"
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
        let bound = address.withSockaddr { bind(fd, $0, $1) }
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
        return SocketAddress(storage: storage)
    }
}
