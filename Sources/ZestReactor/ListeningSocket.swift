import CZestShims
import Glibc
import ZestCore

/// A nonblocking TCP listener that owns its descriptor. Each worker binds its own with
/// `SO_REUSEPORT` on the same address, and the kernel spreads new connections among them.
public final class ListeningSocket {
    /// The descriptor while open; `nil` after `close()`.
    public internal(set) var descriptor: FileDescriptor?
    /// Whether `TCP_NODELAY` was set on the listener, so accepted sockets inherit it.
    let noDelay: Bool

    /// Binds and listens on `address` (`socket`, `setsockopt(SO_REUSEADDR, SO_REUSEPORT,
    /// TCP_NODELAY)`, `bind`, `listen`). Port 0 picks a free port; read it back with
    /// `localAddress()`. `TCP_NODELAY` on the listener is inherited by every accepted socket,
    /// which saves a `setsockopt` per connection.
    public init(listeningOn address: SocketAddress, reusePort: Bool = true, backlog: Int32 = 4096,
                mark: UInt32? = nil) throws(SyscallError) {
        let fd = try Posix.tcpSocket(family: address.family)
        do {
            try Posix.setOption(fd, SOL_SOCKET, SO_REUSEADDR, Int32(1))
            try Posix.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, Int32(1))
            if reusePort { try Posix.setOption(fd, SOL_SOCKET, zest_const_SO_REUSEPORT(), Int32(1)) }
            if address.ip.isIPv6 { try Posix.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, Int32(1)) }
            if let mark { try Posix.setOption(fd, SOL_SOCKET, zest_const_SO_MARK(), mark) }
            try address.withSockaddr { sa, len throws(SyscallError) in try Posix.bind(fd, sa, len) }
            try Posix.listen(fd, backlog: backlog)
        } catch {
            Posix.close(fd)
            throw error
        }
        descriptor = FileDescriptor(rawValue: fd)
        noDelay = true
    }

    init(descriptor: FileDescriptor) {
        self.descriptor = descriptor
        let fd = descriptor.rawValue
        noDelay = (try? Posix.getIntOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY)).map { $0 != 0 } ?? false
    }

    deinit { close() }

    @inline(__always)
    var fd: Int32 { descriptor?.rawValue ?? -1 }

    /// Accepts one pending connection (`accept4(2)`, nonblocking and close-on-exec), or
    /// `.wouldBlock` when the queue is empty. With edge-triggered epoll, call until `.wouldBlock`.
    /// The socket remembers the peer address `accept4` reported (no `getpeername` later).
    public func accept() throws(SyscallError) -> IOResult<Socket> {
        var peer = sockaddr_storage()
        switch try Posix.accept(fd, peer: &peer) {
        case .processed(let newFD):
            return .processed(Socket(accepted: FileDescriptor(rawValue: newFD), peer: SocketAddress(storage: peer), noDelay: noDelay))
        case .wouldBlock: return .wouldBlock
        }
    }

    /// The bound address, with the real port when bound to port 0 (`getsockname(2)`).
    public func localAddress() throws(SyscallError) -> SocketAddress {
        try Socket.decode(Posix.address(fd, peer: false), "getsockname")
    }

    /// Closes the listener (`close(2)`). Safe to call more than once.
    public func close() {
        guard let d = descriptor else { return }
        descriptor = nil
        Posix.close(d.rawValue)
    }
}

extension ListeningSocket {
    /// Binds one `SO_REUSEPORT` listener per worker on the same address. With port 0 the first
    /// bind picks the port and the rest reuse it. Returns the descriptors (to hand to worker
    /// threads, which adopt them with `init(adopting:)`) and the bound address.
    public static func bindGroup(_ address: SocketAddress, count: Int, mark: UInt32? = nil) throws(SyscallError)
        -> (descriptors: [FileDescriptor], address: SocketAddress) {
        var sockets: [ListeningSocket] = []
        var bound = address
        for _ in 0..<max(1, count) {
            let s = try ListeningSocket(listeningOn: bound, reusePort: true, mark: mark)
            if sockets.isEmpty { bound = try s.localAddress() }
            sockets.append(s)
        }
        let fds = sockets.map { s in
            let d = s.descriptor!
            s.descriptor = nil
            return d
        }
        return (fds, bound)
    }

    /// Takes ownership of a listening descriptor bound elsewhere (see `bindGroup`).
    public convenience init(adopting descriptor: FileDescriptor) {
        self.init(descriptor: descriptor)
    }
}
