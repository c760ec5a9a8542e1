import ZestCore
import ZestReactor
import ZestTLS

/// Decides whether a peer may open a tunnel: nil allows, a reason denies (401). The policy
/// engine fills this; it must not block.
public typealias HBONEAuthorizer = @Sendable (_ request: ConnectRequest, _ peer: SpiffeID?) -> String?

/// One worker's HBONE server: accepts mTLS connections, serves their CONNECT streams, dials
/// each target and answers 200 only once that connect succeeded (503 otherwise).
final class InboundWorker: HBONEServerDelegate {
    unowned(unsafe) let loop: EventLoop
    let tls: TLSContext
    let settings: HBONESettings
    let authorize: HBONEAuthorizer
    let mark: UInt32?
    private var acceptor: Acceptor?
    private var transports: [ObjectIdentifier: HBONETransport] = [:]
    private(set) var counters = HBONECounters()

    init(loop: EventLoop, listener: ListeningSocket, tls: TLSContext, settings: HBONESettings,
         authorize: @escaping HBONEAuthorizer, mark: UInt32?) throws(SyscallError) {
        self.loop = loop
        self.tls = tls
        self.settings = settings
        self.authorize = authorize
        self.mark = mark
        acceptor = try Acceptor(loop: loop, listener: listener) { [unowned self] socket in self.accepted(socket) }
    }

    private func accepted(_ socket: Socket) {
        try? socket.setNoDelay()
        guard let fd = socket.descriptor, let session = try? TLSConnection(context: tls, fd: fd) else {
            socket.close()
            return
        }
        let settings = self.settings
        do {
            let t = try HBONETransport(loop: loop, socket: socket, connected: true, tls: session) { [unowned self] sink throws(HBONEError) in
                try HBONEConnection.server(sink: sink, delegate: self, settings: settings)
            }
            transports[ObjectIdentifier(t)] = t
            t.onReady = { t in t.connection?.peerIdentity = t.tls.peerIdentity }
            t.onClose = { [unowned self] t, _ in
                if let c = t.connection { self.counters.add(c.counters) }
                self.transports.removeValue(forKey: ObjectIdentifier(t))
            }
        } catch {
            socket.close()
        }
    }

    func hboneServer(_ connection: HBONEConnection, authorize request: ConnectRequest) -> String? {
        authorize(request, connection.peerIdentity)
    }

    func hboneServer(_ connection: HBONEConnection, didReceive tunnel: HBONETunnel) {
        let target = tunnel.request.target
        do {
            let (socket, progress) = try Socket.connect(to: target, mark: mark)
            let upstream = try TunnelSocket(loop: loop, socket: socket, connecting: true)
            upstream.tunnel = tunnel
            upstream.onConnected = { s, ok, reason in
                // The HBONE connection may have ended while the connect was in flight.
                guard let t = s.tunnel, t.state == .pending else {
                    s.tunnel = nil
                    s.close(reset: true)
                    return
                }
                if ok {
                    t.accept(handler: s)
                } else {
                    t.reject(.upstreamConnectFailed(target, reason: reason))
                    s.tunnel = nil
                    s.close(reset: false)
                }
            }
            if case .processed = progress { upstream.handleEvents(.writable, descriptor: upstream.fd) }
        } catch {
            tunnel.reject(.upstreamConnectFailed(target, reason: "\(error)"))
        }
    }

    /// GOAWAY on every connection; tunnels in flight finish.
    func drain() {
        acceptor?.closeTakingQueued()
        for t in transports.values { t.connection?.drain() }
    }

    /// HBONE connections still open on this worker.
    var connectionCount: Int { transports.count }
}
