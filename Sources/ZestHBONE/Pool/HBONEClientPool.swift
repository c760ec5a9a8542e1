import ZestCore
import ZestReactor
import ZestTLS

extension HBONETransport: PoolMember {
    var hasCapacity: Bool { connection?.hasCapacity ?? false }
    var isIdle: Bool { (connection?.tunnelCount ?? 0) == 0 }
}

/// One worker's outbound HBONE connections, shared by the tunnels of that worker (no locks:
/// the pool, its connections and tunnels all live on the worker's loop).
final class HBONEClientPool: TimerHandler {
    struct Pending {
        var request: ConnectRequest
        var socket: TunnelSocket
    }

    unowned(unsafe) let loop: EventLoop
    /// The context of new dials; replaced when the source certificate rotates.
    var tls: TLSContext
    let settings: HBONESettings
    let mark: UInt32?
    /// Opens the TCP socket of a dial to the key's destination from the key's source IP (in a
    /// pod's network namespace, for instance); the default connects from the worker's own
    /// namespace with `mark`.
    var dialer: ((_ destination: SocketAddress, _ source: IPAddress?) throws -> (Socket, IOResult<Void>))?
    private var book = PoolBook<HBONEPoolKey, HBONETransport, Pending>()
    /// Dials in flight, by transport, so a failed handshake fails the right waiters.
    private var dials: [ObjectIdentifier: HBONEPoolKey] = [:]
    /// Every connection this pool dialed that has not closed yet (pooled, dialing or going away).
    private var live: [ObjectIdentifier: HBONETransport] = [:]
    private var sweepTimer: TimerID?
    private(set) var dialsStarted = 0

    init(loop: EventLoop, tls: TLSContext, settings: HBONESettings = .client, mark: UInt32? = nil) {
        self.loop = loop
        self.tls = tls
        self.settings = settings
        self.mark = mark
    }

    /// Opens a tunnel for `socket` to `request.target` through a pooled connection for `key`,
    /// dialing one if none has room. Failures close `socket` with RST.
    func openTunnel(_ key: HBONEPoolKey, _ request: ConnectRequest, for socket: TunnelSocket) {
        let pending = Pending(request: request, socket: socket)
        switch book.checkout(key, pending, now: .now) {
        case .use(let t): start(pending, on: t)
        case .dial: dial(key)
        case .wait: break
        }
    }

    var connectionCount: Int { book.memberCount }

    /// GOAWAY on every pooled connection: their tunnels finish, no new ones start there.
    func drainAll() {
        for list in book.members.values { for t in list { t.connection?.drain() } }
    }

    /// Closes every connection now, including dials in flight (their tunnels fail); the pool
    /// can then be released without connections calling back into it.
    func closeAll() {
        for t in Array(live.values) { t.closeTransport(.goingAway) }
        if let sweepTimer { loop.cancel(sweepTimer) }
        sweepTimer = nil
    }

    private func start(_ p: Pending, on t: HBONETransport) {
        guard let c = t.connection else { p.socket.close(reset: true); return }
        if c.settings.sendBeforeResponse { p.socket.startSending() }
        do {
            p.socket.tunnel = try c.openTunnel(p.request, handler: p.socket)
        } catch {
            p.socket.close(reset: true)
        }
    }

    private func dial(_ key: HBONEPoolKey) {
        dialsStarted += 1
        do {
            let (socket, progress) = try dialer?(key.destination, key.sourceIP)
                ?? Socket.connect(to: key.destination, from: key.sourceIP, mark: mark)
            try? socket.setNoDelay()
            let session = try TLSConnection(context: tls, fd: socket.descriptor!, expectedPeerIdentities: key.destinationIdentities)
            let settings = self.settings
            let connected: Bool
            if case .processed = progress { connected = true } else { connected = false }
            let t = try HBONETransport(loop: loop, socket: socket, connected: connected, tls: session) { sink throws(HBONEError) in
                try HBONEConnection.client(sink: sink, settings: settings)
            }
            dials[ObjectIdentifier(t)] = key
            live[ObjectIdentifier(t)] = t
            t.onReady = { [unowned self] t in self.dialed(t) }
            t.onClose = { [unowned self] t, _ in self.closed(t) }
            t.onGoingAway = { [unowned self] t in self.book.remove(t) }
            if connected { t.handleEvents(.writable, descriptor: t.fd) }
        } catch {
            for p in book.dialFailed(key) { p.socket.close(reset: true) }
        }
    }

    private func dialed(_ t: HBONETransport) {
        guard let key = dials.removeValue(forKey: ObjectIdentifier(t)) else { return }
        t.connection?.peerIdentity = t.tls.peerIdentity
        armSweep()
        for p in book.dialSucceeded(key, t, now: .now) { openTunnel(key, p.request, for: p.socket) }
    }

    private func closed(_ t: HBONETransport) {
        live.removeValue(forKey: ObjectIdentifier(t))
        if let key = dials.removeValue(forKey: ObjectIdentifier(t)) {
            for p in book.dialFailed(key) { p.socket.close(reset: true) }
        } else {
            book.remove(t)
        }
    }

    private func armSweep() {
        guard sweepTimer == nil, book.memberCount > 0 else { return }
        sweepTimer = loop.schedule(after: .seconds(30), self)
    }

    func timerFired(_ timer: TimerID) {
        guard timer == sweepTimer else { return }
        sweepTimer = nil
        for t in book.expireIdle(now: .now) { t.connection?.drain() }
        armSweep()
    }
}
