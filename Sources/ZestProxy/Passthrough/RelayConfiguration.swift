import ZestCore
import ZestReactor

/// How the relay moves bytes between two plain sockets.
public enum CopyMode: String, Sendable, CaseIterable {
    /// `read`/`write` through the worker's buffer pool (the path TLS and HTTP/2 also use).
    case buffered
    /// `splice(2)` through a kernel pipe per direction: no user-space copy.
    case splice
    /// Buffered until a direction has carried 1 MiB, then splice for that direction (see
    /// `DirectionCopy`): bulk transfers skip the user-space copy, short connections open no pipe.
    case adaptive
}

/// Settings of a plain TCP relay (`zest relay`).
public struct RelayConfiguration: Sendable {
    /// Where to accept connections; port 0 picks one (see `PassthroughRelay.listenAddress`).
    public var listen: SocketAddress
    /// Where to connect for each accepted connection.
    public var upstream: SocketAddress
    /// Worker threads; nil means CPU-aware (`CPUCount.defaultWorkerCount()`).
    public var workers: Int?
    /// How long an upstream connect may take before the client is reset.
    public var connectTimeout: Duration
    /// A connection with no traffic in either direction for this long is reset; nil: never.
    public var idleTimeout: Duration?
    public var copyMode: CopyMode
    public var bufferPool: BufferPoolConfiguration
    /// `F_SETPIPE_SZ` for splice pipes (nil: the kernel default, 64 KiB, for `.splice`; 1 MiB for
    /// `.adaptive`).
    public var pipeCapacity: Int32?
    /// `SO_MARK` for upstream sockets (so capture rules skip them); needs CAP_NET_ADMIN.
    public var mark: UInt32?

    public init(listen: SocketAddress, upstream: SocketAddress, workers: Int? = nil,
                connectTimeout: Duration = .seconds(5), idleTimeout: Duration? = nil, copyMode: CopyMode = .defaultMode,
                bufferPool: BufferPoolConfiguration = .default, pipeCapacity: Int32? = nil, mark: UInt32? = nil) {
        self.listen = listen
        self.upstream = upstream
        self.workers = workers
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.copyMode = copyMode
        self.bufferPool = bufferPool
        self.pipeCapacity = pipeCapacity
        self.mark = mark
    }
}

extension CopyMode {
    /// The mode the relay benchmark measured cheapest per byte, at HAProxy's throughput or above,
    /// on one stream and on 64 (docs/bench/relay.md).
    public static let defaultMode = CopyMode.adaptive
}

/// Counters of one relay, summed over its workers.
public struct RelayStats: Sendable, Equatable {
    public var accepted: UInt64 = 0
    public var active: Int = 0
    public var completed: UInt64 = 0
    /// Connections ended by a reset (either side) or a broken socket.
    public var reset: UInt64 = 0
    /// Upstream connects that were refused, failed or timed out.
    public var connectFailures: UInt64 = 0
    /// Connections reset because they stayed idle past `idleTimeout`.
    public var idleTimeouts: UInt64 = 0
    /// Bytes client → upstream and upstream → client.
    public var bytesToUpstream: UInt64 = 0
    public var bytesToClient: UInt64 = 0
    public var pool = BufferPoolStats()

    public init() {}

    mutating func add(_ o: RelayStats) {
        accepted += o.accepted
        active += o.active
        completed += o.completed
        reset += o.reset
        connectFailures += o.connectFailures
        idleTimeouts += o.idleTimeouts
        bytesToUpstream += o.bytesToUpstream
        bytesToClient += o.bytesToClient
        pool.slotCount += o.pool.slotCount
        pool.slotSize = o.pool.slotSize
        pool.inUse += o.pool.inUse
        pool.highWater += o.pool.highWater
        pool.exhaustionEvents += o.pool.exhaustionEvents
    }
}
