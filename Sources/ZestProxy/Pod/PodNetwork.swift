import ZestCore
import ZestReactor
import ZestRedirect

/// Where a pod's sockets are made. Every socket Zest opens for a pod must live in the pod's
/// network namespace and carry `SO_MARK` 0x539 so the pod's capture rules let it pass
/// (ARCHITECTURE.md §5). The proxy only asks for sockets; entering the namespace is this
/// protocol's business.
public protocol PodNetwork: Sendable {
    /// A nonblocking `SO_REUSEPORT` listener bound to `address` in the pod's namespace.
    func openListener(_ address: SocketAddress) throws -> FileDescriptor
    /// A nonblocking socket in the pod's namespace that has started connecting to
    /// `destination`; with `source` it is bound there first with `IP_TRANSPARENT`, so the
    /// destination sees that (foreign) client address.
    func connect(to destination: SocketAddress, from source: SocketAddress?) throws -> Socket
}

/// A pod network reached through a `NetnsThread` (a dedicated thread that enters the
/// namespace with `setns`, creates the socket and returns): data-plane workers never change
/// namespace themselves.
public struct NetnsPodNetwork: PodNetwork {
    public let thread: NetnsThread
    public let namespace: NetNamespace

    public init(thread: NetnsThread, namespace: NetNamespace) {
        self.thread = thread
        self.namespace = namespace
    }

    public func openListener(_ address: SocketAddress) throws -> FileDescriptor {
        var options = PodSocketOptions()
        options.reusePort = true
        return try thread.openListener(in: namespace, address: address, options: options)
    }

    public func connect(to destination: SocketAddress, from source: SocketAddress?) throws -> Socket {
        var options = PodSocketOptions()
        options.transparent = source != nil
        let fd = try thread.openConnectingSocket(in: namespace, to: destination, from: source, connectNow: true,
                                                 options: options)
        let socket = Socket(owning: fd)
        try? socket.setNoDelay()
        return socket
    }
}
