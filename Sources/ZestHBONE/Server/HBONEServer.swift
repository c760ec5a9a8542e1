import Synchronization
import ZestCore
import ZestReactor
import ZestTLS

/// An HBONE server (what listens on 15008): one `SO_REUSEPORT` listener per worker; each
/// worker terminates mTLS and HTTP/2 and forwards every CONNECT stream to its target.
public final class HBONEServer: Sendable {
    public struct Configuration: Sendable {
        public var listen: SocketAddress
        public var tls: TLSContext
        public var settings: HBONESettings = .server
        /// Default: allow every peer that passed the TLS checks (same trust domain).
        public var authorize: HBONEAuthorizer = { _, _ in nil }
        public var workers: Int?
        public var bufferPool: BufferPoolConfiguration = .default
        /// `SO_MARK` on upstream sockets (capture rules skip marked traffic).
        public var mark: UInt32?
        /// Opt-in busy polling of each worker's loop (`EventLoop.busyPoll`); zero never spins.
        public var busyPoll: Duration = .zero

        public init(listen: SocketAddress, tls: TLSContext) {
            self.listen = listen
            self.tls = tls
        }
    }

    public let listenAddress: SocketAddress
    private let group: WorkerGroup
    private let registry = WorkerRegistry<InboundWorker>()

    /// Binds the listeners and starts the workers.
    public init(_ configuration: Configuration) throws {
        let count = configuration.workers ?? CPUCount.defaultWorkerCount()
        let (fds, bound) = try ListeningSocket.bindGroup(configuration.listen, count: count)
        listenAddress = bound
        let registry = self.registry
        group = try WorkerGroup(workers: count, bufferPool: configuration.bufferPool) { loop in
            loop.busyPoll = configuration.busyPoll
            let listener = ListeningSocket(adopting: fds[loop.index])
            let worker = try InboundWorker(loop: loop, listener: listener, tls: configuration.tls, settings: configuration.settings,
                                           authorize: configuration.authorize, mark: configuration.mark)
            registry.register(worker, index: loop.index)
        }
    }

    /// Counters of the connections that already closed, summed over workers.
    public func counters() -> HBONECounters {
        let total = Mutex(HBONECounters())
        registry.onEachWorker(group) { w in
            let c = w.counters
            total.withLock { $0.add(c) }
        }
        return total.withLock { $0 }
    }

    /// HBONE connections open now, over all workers.
    public func connectionCount() -> Int {
        let total = Mutex(0)
        registry.onEachWorker(group) { w in
            let n = w.connectionCount
            total.withLock { $0 += n }
        }
        return total.withLock { $0 }
    }

    /// Graceful drain: stop accepting, GOAWAY on every connection, tunnels in flight finish.
    public func drain() {
        registry.onEachWorker(group) { $0.drain() }
    }

    public func shutdown() { group.shutdown() }
    public func wait() { group.join() }
}
