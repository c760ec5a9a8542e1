import CZestShims
import Glibc
import ZestCore

/// A nonblocking TCP stream socket (IPv4 or IPv6) that owns its descriptor: `close()`, or
/// `deinit`, closes it exactly once. Confined to one thread, like everything on a loop.
public final class Socket {
    /// The descriptor while open; `nil` after `close()`.
    public private(set) var descriptor: FileDescriptor?
    /// The peer address `accept4` reported, so `peerAddress()` needs no `getpeername`.
    private var acceptedPeer: SocketAddress?
    /// `TCP_NODELAY` is known to be on (set here, or inherited from a listener that had it),
    /// so `setNoDelay()` makes no second `setsockopt`.
    private var noDelay = false

    /// Takes ownership of an already-open descriptor.
    public init(owning descriptor: FileDescriptor) {
        self.descriptor = descriptor
    }

    /// An accepted connection: `peer` is the address `accept4` filled in, and `noDelay` whether
    /// the listener had `TCP_NODELAY` (Linux copies it to the accepted socket).
    init(accepted descriptor: FileDescriptor, peer: SocketAddress?, noDelay: Bool) {
        self.descriptor = descriptor
        self.acceptedPeer = peer
        self.noDelay = noDelay
    }

    deinit { close() }

    /// Opens a nonblocking TCP socket for `family` (`socket(2)`).
    public static func tcp(for address: SocketAddress) throws(SyscallError) -> Socket {
        Socket(owning: FileDescriptor(rawValue: try Posix.tcpSocket(family: address.family)))
    }

    /// Starts a nonblocking `connect(2)` to `address`. `.processed` means connected already
    /// (loopback sometimes does); `.wouldBlock` means the socket becomes writable when the attempt
    /// finishes, and `finishConnect()` then tells how it went. `mark` sets `SO_MARK` first; `source`
    /// binds that local address (any port) before connecting.
    public static func connect(to address: SocketAddress, from source: IPAddress? = nil,
                               mark: UInt32? = nil) throws(SyscallError) -> (Socket, IOResult<Void>) {
        let socket = try Socket.tcp(for: address)
        if let mark { try socket.setMark(mark) }
        try socket.setNoDelay()
        let fd = socket.fd
        if let source {
            // Let connect pick the port per 4-tuple rather than reserving one at bind.
            try Posix.setOption(fd, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, Int32(1))
            try SocketAddress(ip: source, port: 0).withSockaddr { sa, len throws(SyscallError) in try Posix.bind(fd, sa, len) }
        }
        let result = try address.withSockaddr { sa, len throws(SyscallError) in try Posix.connect(fd, sa, len) }
        return (socket, result)
    }

    /// After a nonblocking connect turned writable: throws the connect error (`SO_ERROR`) if it failed.
    public func finishConnect() throws(SyscallError) {
        let err = try Posix.getIntOption(fd, SOL_SOCKET, SO_ERROR)
        if err != 0 { throw SyscallError("connect", errno: err) }
    }

    /// Like `finishConnect()`, given the events epoll reported for the socket: writable without
    /// error or hangup means the connect succeeded (a failed connect always raises `EPOLLERR`),
    /// so `SO_ERROR` is read only when it failed or the events do not say.
    public func finishConnect(reported events: IOEvents) throws(SyscallError) {
        if events.contains(.writable), events.isDisjoint(with: [.error, .hangup]) { return }
        try finishConnect()
    }

    /// The raw number; only valid while open.
    @inline(__always)
    var fd: Int32 { descriptor?.rawValue ?? -1 }

    /// Whether `close()` has not been called yet.
    public var isOpen: Bool { descriptor != nil }

    /// Reads up to `count` bytes into `buffer` (`read(2)`). `.processed(0)` is end of stream.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(SyscallError) -> IOResult<Int> {
        try Posix.read(fd, buffer, count)
    }

    /// Writes up to `count` bytes from `buffer` (`send(2)` with `MSG_NOSIGNAL`); may write fewer.
    @inline(__always)
    public func write(from buffer: UnsafeRawPointer, count: Int) throws(SyscallError) -> IOResult<Int> {
        try Posix.send(fd, buffer, count)
    }

    /// Sends FIN: the peer reads end of stream, while this side can still read (`shutdown(SHUT_WR)`).
    public func shutdownWrite() throws(SyscallError) {
        try Posix.shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes the descriptor (`close(2)`). Safe to call more than once.
    public func close() {
        guard let d = descriptor else { return }
        descriptor = nil
        Posix.close(d.rawValue)
    }

    /// Closes with `SO_LINGER` 0, so the peer receives RST instead of FIN (reset propagation).
    public func closeWithReset() {
        guard isOpen else { return }
        try? Posix.setOption(fd, SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
        close()
    }

    /// Sets `SO_MARK` (needs CAP_NET_ADMIN); Zest marks its own sockets so capture rules skip them.
    public func setMark(_ mark: UInt32) throws(SyscallError) {
        try Posix.setOption(fd, SOL_SOCKET, zest_const_SO_MARK(), mark)
    }

    /// Disables Nagle (`TCP_NODELAY`) so relayed chunks are not held back; a no-op when it is
    /// known to be on already.
    public func setNoDelay() throws(SyscallError) {
        guard !noDelay else { return }
        try Posix.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, Int32(1))
        noDelay = true
    }

    /// Sets the kernel send (`SO_SNDBUF`) or receive (`SO_RCVBUF`) buffer size.
    public func setBufferSizes(send: Int32? = nil, receive: Int32? = nil) throws(SyscallError) {
        if let send { try Posix.setOption(fd, SOL_SOCKET, SO_SNDBUF, send) }
        if let receive { try Posix.setOption(fd, SOL_SOCKET, SO_RCVBUF, receive) }
    }

    /// The pending socket error (`SO_ERROR`), 0 if none; reading it clears it.
    public func pendingError() -> Int32 {
        (try? Posix.getIntOption(fd, SOL_SOCKET, SO_ERROR)) ?? 0
    }

    /// This end's address (`getsockname(2)`).
    public func localAddress() throws(SyscallError) -> SocketAddress {
        try Socket.decode(Posix.address(fd, peer: false), "getsockname")
    }

    /// The other end's address (`getpeername(2)`, or what `accept4` reported for an accepted socket).
    public func peerAddress() throws(SyscallError) -> SocketAddress {
        if let acceptedPeer { return acceptedPeer }
        return try Socket.decode(Posix.address(fd, peer: true), "getpeername")
    }

    static func decode(_ storage: sockaddr_storage, _ call: StaticString) throws(SyscallError) -> SocketAddress {
        guard let address = SocketAddress(storage: storage) else { throw SyscallError(call, errno: EAFNOSUPPORT) }
        return address
    }
}
