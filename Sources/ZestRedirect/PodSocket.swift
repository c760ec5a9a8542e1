internal import CZestShims
import Glibc
import ZestCore

/// How to open a socket inside a pod namespace. Every such socket carries `PacketMark.zestSocket`,
/// so the pod's capture rules let it through.
public struct PodSocketOptions: Sendable {
    /// `SOCK_NONBLOCK`, for sockets handed to an event loop.
    public var nonBlocking = true
    /// `SO_REUSEPORT`, so each worker can bind its own listener on the same port.
    public var reusePort = false
    /// `IP_TRANSPARENT`/`IPV6_TRANSPARENT`, to bind a connecting socket to the client's address.
    public var transparent = false
    public init() {}
}

extension NetnsThread {
    /// Opens a TCP listener bound to `address` inside `namespace` (`socket`, `setsockopt(SO_MARK,
    /// SO_REUSEADDR[, SO_REUSEPORT][, IPV6_V6ONLY])`, `bind`, `listen`). `[::]` is dual stack
    /// (`IPV6_V6ONLY` off, whatever the pod's `net.ipv6.bindv6only` says): IPv4 clients arrive
    /// as `::ffff:a.b.c.d`. The caller owns the returned descriptor.
    public func openListener(in namespace: NetNamespace, address: SocketAddress, backlog: Int32 = 1024,
                             options: PodSocketOptions = PodSocketOptions()) throws -> FileDescriptor {
        try run(in: namespace) {
            let fd = try makeMarkedSocket(family: address.ip, options: options, for: address)
            do {
                try setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", address)
                if options.reusePort {
                    try setIntOption(fd, SOL_SOCKET, zest_const_SO_REUSEPORT(), 1, "SO_REUSEPORT", address)
                }
                if address.ip == .anyV6 {
                    try setIntOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0, "IPV6_V6ONLY", address)
                }
                try bindSocket(fd, address)
                guard listen(fd, backlog) == 0 else {
                    throw RedirectError.socket(call: "listen", address: "\(address)", errno: errno)
                }
            } catch {
                close(fd)
                throw error
            }
            return FileDescriptor(rawValue: fd)
        }
    }

    /// Opens an unconnected TCP socket inside `namespace` for dialling `destination`, optionally
    /// bound to `source` (with `options.transparent` this may be a foreign client address). The
    /// caller connects it; with `connectNow` the socket is connected here (blocking unless
    /// nonblocking, where `EINPROGRESS` is accepted).
    public func openConnectingSocket(in namespace: NetNamespace, to destination: SocketAddress,
                                     from source: SocketAddress? = nil, connectNow: Bool = false,
                                     options: PodSocketOptions = PodSocketOptions()) throws -> FileDescriptor {
        try run(in: namespace) {
            let fd = try makeMarkedSocket(family: destination.ip, options: options, for: destination)
            do {
                if let source {
                    // Port 0: let connect pick the port per 4-tuple rather than reserving one at bind.
                    if source.port == 0 { try setIntOption(fd, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, 1, "IP_BIND_ADDRESS_NO_PORT", source) }
                    try bindSocket(fd, source)
                }
                if connectNow {
                    let rc = destination.withSockaddr { connect(fd, $0, $1) }
                    if rc != 0 && !(options.nonBlocking && errno == EINPROGRESS) {
                        throw RedirectError.socket(call: "connect", address: "\(destination)", errno: errno)
                    }
                }
            } catch {
                close(fd)
                throw error
            }
            return FileDescriptor(rawValue: fd)
        }
    }
}

private func makeMarkedSocket(family ip: IPAddress, options: PodSocketOptions,
                              for address: SocketAddress) throws -> Int32 {
    var type = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue)
    if options.nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
    let fd = socket(ip.isIPv4 ? AF_INET : AF_INET6, type, Int32(IPPROTO_TCP))
    guard fd >= 0 else { throw RedirectError.socket(call: "socket", address: "\(address)", errno: errno) }
    do {
        try setIntOption(fd, SOL_SOCKET, zest_const_SO_MARK(), Int32(bitPattern: PacketMark.zestSocket.value),
                         "SO_MARK", address)
        if options.transparent {
            if ip.isIPv4 {
                try setIntOption(fd, Int32(IPPROTO_IP), zest_const_IP_TRANSPARENT(), 1, "IP_TRANSPARENT", address)
            } else {
                try setIntOption(fd, Int32(IPPROTO_IPV6), zest_const_IPV6_TRANSPARENT(), 1, "IPV6_TRANSPARENT", address)
            }
        }
    } catch {
        close(fd)
        throw error
    }
    return fd
}

private func setIntOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32,
                          _ label: String, _ address: SocketAddress) throws {
    var v = value
    guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
        throw RedirectError.socket(call: "setsockopt(\(label))", address: "\(address)", errno: errno)
    }
}

private func bindSocket(_ fd: Int32, _ address: SocketAddress) throws {
    guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
        throw RedirectError.socket(call: "bind", address: "\(address)", errno: errno)
    }
}
