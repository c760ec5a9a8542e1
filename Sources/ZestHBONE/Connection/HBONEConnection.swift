import ZestCore

/// Decides what the server does with a valid CONNECT: the policy hook and the upstream dial.
public protocol HBONEServerDelegate: AnyObject {
    /// The authorization hook the policy engine fills: nil allows, a reason denies with 401.
    func hboneServer(_ connection: HBONEConnection, authorize request: ConnectRequest) -> String?
    /// An authorized request. Connect upstream, then call `tunnel.accept(handler:)` (200) or
    /// `tunnel.reject(_:)` (503 for unknown targets and failed connects). Either may come later,
    /// from the same thread.
    func hboneServer(_ connection: HBONEConnection, didReceive tunnel: HBONETunnel)
}

/// Hears about the connection as a whole (the pool, the server's accept loop).
public protocol HBONEConnectionObserver: AnyObject {
    /// GOAWAY arrived or was sent: no new tunnels here; existing ones finish.
    func hboneConnectionIsGoingAway(_ connection: HBONEConnection)
    /// The connection is finished; close the transport. `error` is nil after a clean GOAWAY exchange.
    func hboneConnection(_ connection: HBONEConnection, didCloseWith error: HBONEError?)
}

/// One HBONE connection (HTTP/2 over an already established mTLS stream), client or server,
/// driven from memory: `receive` takes decrypted bytes, the `HBONEByteSink` gets bytes to encrypt.
/// Confined to one thread; the owner keeps it alive until `didCloseWith`.
public final class HBONEConnection {
    public enum Role: Sendable { case client, server }

    public let role: Role
    public let settings: HBONESettings
    /// Client: the `traceparent` sent on every request of this connection.
    public let traceparent: String
    public weak var observer: HBONEConnectionObserver?
    /// The peer's verified SPIFFE identity, set by the transport after the TLS handshake; the
    /// server's authorization hook sees it.
    public var peerIdentity: SpiffeID?
    public internal(set) var counters = HBONECounters()

    var session: H2Session!
    unowned let sink: HBONEByteSink
    weak var serverDelegate: HBONEServerDelegate?
    let clock: () -> ContinuousClock.Instant
    var tunnels: [Int32: HBONETunnel] = [:]
    /// Tunnels whose stream closed cleanly while received bytes were still held.
    var drainingTunnels: [Int32: HBONETunnel] = [:]
    var requestHeads: [Int32: RequestHead] = [:]
    var keepAlive: KeepAlive
    var floodGuard: FloodGuard
    /// The sink refused a write; nothing more is produced until `sinkDidDrain`.
    public internal(set) var outputBlocked = false
    public private(set) var isGoingAway = false
    public internal(set) var closeError: HBONEError?
    private(set) var closed = false
    /// Payload copied together with its frame header when the source had no headroom.
    var frameScratch: [UInt8] = []
    /// Frames of the current turn not yet handed to the sink (see `HBONEConnection+Outbox`).
    var outbox: [UInt8] = []
    /// Inside nghttp2 (receiving or sending): a flush asked for now runs when it returns, because
    /// nghttp2's send and receive calls must not be re-entered from its callbacks.
    private var inSession = false
    private var flushAgain = false

    /// A client connection: call `openTunnel` for each user connection.
    public static func client(sink: HBONEByteSink, settings: HBONESettings = .client,
                              clock: @escaping () -> ContinuousClock.Instant = { .now }) throws(HBONEError) -> HBONEConnection {
        try HBONEConnection(role: .client, sink: sink, settings: settings, delegate: nil, clock: clock)
    }

    /// A server connection: requests go to `delegate`.
    public static func server(sink: HBONEByteSink, delegate: HBONEServerDelegate, settings: HBONESettings = .server,
                              clock: @escaping () -> ContinuousClock.Instant = { .now }) throws(HBONEError) -> HBONEConnection {
        try HBONEConnection(role: .server, sink: sink, settings: settings, delegate: delegate, clock: clock)
    }

    private init(role: Role, sink: HBONEByteSink, settings: HBONESettings, delegate: HBONEServerDelegate?,
                 clock: @escaping () -> ContinuousClock.Instant) throws(HBONEError) {
        self.role = role
        self.sink = sink
        self.settings = settings
        self.serverDelegate = delegate
        self.clock = clock
        traceparent = Traceparent.random()
        let now = clock()
        keepAlive = KeepAlive(interval: settings.pingInterval, timeout: settings.pingTimeout, now: now)
        floodGuard = FloodGuard(limits: settings.floodLimits, now: now)
        session = try H2Session(role: role == .client ? .client : .server, handler: self, limits: H2Limits())
        var advertised = [
            H2Setting(id: .initialWindowSize, value: UInt32(settings.streamWindow)),
            H2Setting(id: .maxFrameSize, value: settings.maxFrameSize),
            H2Setting(id: .maxHeaderListSize, value: UInt32(settings.maxHeaderListSize)),
        ]
        if role == .server {
            advertised.append(H2Setting(id: .maxConcurrentStreams, value: UInt32(settings.maxConcurrentStreams)))
        } else {
            advertised.append(H2Setting(id: .enablePush, value: 0))
        }
        try session.start(settings: advertised, connectionWindow: settings.connectionWindow)
        flush()
    }

    /// Tunnels currently carried.
    public var tunnelCount: Int { tunnels.count }

    public var isClosed: Bool { closed }

    /// Feeds decrypted bytes from the peer. Safe to call while `outputBlocked`: what it can make
    /// the connection hold is bounded by the windows and nghttp2's queued-ACK limit.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !closed else { return }
        let wasInSession = inSession
        inSession = true
        let result = session.receive(bytes)
        inSession = wasInSession
        if case .failure(let e) = result {
            counters.protocolErrors += 1
            fail(closeError ?? e)
            return
        }
        flush()
    }

    /// The transport ended (EOF or error): every tunnel fails with it.
    public func transportClosed(_ error: HBONEError? = nil) {
        finish(error ?? closeError ?? .protocolViolation("transport closed"))
    }

    /// The sink has room again: continue writing.
    public func sinkDidDrain() {
        outputBlocked = false
        flush()
    }

    /// Runs the keepalive; the owner calls this at `nextTimerDeadline` (or more often).
    public func tick() {
        guard !closed else { return }
        let now = clock()
        switch keepAlive.tick(now: now) {
        case .none: return
        case .sendPing(let payload): session.ping(payload: payload)
        case .timedOut:
            counters.keepaliveTimeouts += 1
            // A peer that stopped reading leaves no way to send GOAWAY: close at once.
            if outputBlocked { return fail(.keepaliveTimeout) }
            closeError = .keepaliveTimeout
            session.terminate(code: .noError)
        }
        flush()
    }

    /// When `tick` next has work to do.
    public var nextTimerDeadline: ContinuousClock.Instant { keepAlive.nextDeadline }

    /// Graceful drain: GOAWAY now, existing tunnels run to their end, no new ones start.
    public func drain() {
        guard !closed else { return }
        session.goAway(code: .noError)
        markGoingAway()
        flush()
    }

    /// Abrupt close: GOAWAY with `code` after what is queued, then the connection ends.
    public func close(code: H2ErrorCode = .noError) {
        guard !closed else { return }
        session.terminate(code: code)
        flush()
    }

    /// Writes whatever nghttp2 has queued, then ends the connection if it is finished.
    func flush() {
        guard !closed, !outputBlocked else { return }
        if inSession {
            flushAgain = true
            return
        }
        inSession = true
        var result: Result<Void, HBONEError>
        repeat {
            flushAgain = false
            result = session.flush()
        } while flushAgain && !outputBlocked && (try? result.get()) != nil
        inSession = false
        pushOutbox()
        if case .failure(let e) = result {
            fail(e)
            return
        }
        // Frames nghttp2 counts as sent may still wait in the outbox while the sink is full
        // (the last DATA with END_STREAM, say): the close waits until they went out, else the
        // transport would send close_notify without them. `sinkDidDrain` flushes again.
        if !session.isAlive, outbox.isEmpty { finish(closeError) }
    }

    func markGoingAway() {
        guard !isGoingAway else { return }
        isGoingAway = true
        observer?.hboneConnectionIsGoingAway(self)
    }

    func fail(_ error: HBONEError) {
        closeError = closeError ?? error
        finish(closeError)
    }

    /// Ends every tunnel and reports the close once.
    func finish(_ error: HBONEError?) {
        guard !closed else { return }
        closed = true
        let remaining = tunnels.values.sorted { $0.streamID < $1.streamID }
        tunnels.removeAll()
        requestHeads.removeAll()
        for t in remaining {
            t.state = .closed
            reportClose(t, t.receiveEnded && t.sendEnded ? nil : .connectionClosed(error ?? .goingAway))
        }
        observer?.hboneConnection(self, didCloseWith: error)
    }

    func reportClose(_ tunnel: HBONETunnel, _ error: HBONETunnelError?) {
        guard !tunnel.closeReported else { return }
        tunnel.closeReported = true
        tunnel.handler?.tunnel(tunnel, didCloseWith: error)
    }
}
