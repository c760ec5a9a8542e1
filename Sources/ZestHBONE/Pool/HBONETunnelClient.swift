import Synchronization
import ZestCore
import ZestReactor
import ZestTLS

/// A TCP listener whose every connection is carried as one HBONE tunnel to a fixed target
/// through a fixed peer (what `zest tunnel` runs; ztunnel's outbound minus the capture and
/// the routing). Each worker has its own listener and connection pool.
public final class HBONETunnelClient: Sendable {
    public struct Configuration: Sendable {
        public var listen: SocketAddress
        /// The HBONE server to dial (usually `podIP:15008`).
        public var peer: SocketAddress
        /// The `:authority` of every tunnel.
        public var target: SocketAddress
        public var tls: TLSContext
        /// Identities the server may present.
        public var expectedIdentities: Set<SpiffeID>
        public var settings: HBONESettings = .client
        public var workers: Int?
        public var bufferPool: BufferPoolConfiguration = .default
        public var mark: UInt32?
        /// Opt-in busy polling of each worker's loop (`EventLoop.busyPoll`); zero never spins.
        public var busyPoll: Duration = .zero

        public init(listen: SocketAddress, peer: SocketAddress, target: SocketAddress, tls: TLSContext,
                    expectedIdentities: Set<SpiffeID>) {
            self.listen = listen
            self.peer = peer
            self.target = target
            self.tls = tls
            self.expectedIdentities = expectedIdentities
        }
    }

    public let listenAddress: SocketAddress
    private let group: WorkerGroup
    private let registry = WorkerRegistry<OutboundWorker>()

    public init(_ configuration: Configuration) throws {
        let count = configuration.workers ?? CPUCount.defaultWorkerCount()
        let (fds, bound) = try ListeningSocket.bindGroup(configuration.listen, count: count)
        listenAddress = bound
        let registry = self.registry
        group = try WorkerGroup(workers: count, bufferPool: configuration.bufferPool) { loop in
            loop.busyPoll = configuration.busyPoll
            let worker = try OutboundWorker(loop: loop, listener: ListeningSocket(adopting: fds[loop.index]),
                                            configuration: configuration)
            registry.register(worker, index: loop.index)
        }
    }

    /// HBONE connections dialed so far, over all workers (pooling shows as few dials).
    public func dialCount() -> Int {
        let total = Mutex(0)
        registry.onEachWorker(group) { w in
            let n = w.pool.dialsStarted
            total.withLock { $0 += n }
        }
        return total.withLock { $0 }
    }

    public func shutdown() { group.shutdown() }
    public func wait() { group.join() }
}

/// One worker of `HBONETunnelClient`: accepts, and opens a tunnel per connection.
final class OutboundWorker {
    unowned(unsafe) let loop: EventLoop
    let pool: HBONEClientPool
    let key: HBONEPoolKey
    let target: SocketAddress
    private var acceptor: Acceptor?

    init(loop: EventLoop, listener: ListeningSocket, configuration c: HBONETunnelClient.Configuration) throws {
        self.loop = loop
        pool = HBONEClientPool(loop: loop, tls: c.tls, settings: c.settings, mark: c.mark)
        key = HBONEPoolKey(sourceIdentity: c.tls.certificate.identity, destinationIdentities: c.expectedIdentities,
                           sourceIP: nil, destination: c.peer)
        target = c.target
        acceptor = try Acceptor(loop: loop, listener: listener) { [unowned self] socket in self.accepted(socket) }
    }

    private func accepted(_ socket: Socket) {
        let client = try? socket.peerAddress()
        guard let s = try? TunnelSocket(loop: loop, socket: socket, connecting: false) else {
            socket.closeWithReset()
            return
        }
        pool.openTunnel(key, ConnectRequest(target: target, forwardedFor: client), for: s)
    }
}
