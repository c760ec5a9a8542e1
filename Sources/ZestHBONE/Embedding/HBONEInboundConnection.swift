import ZestCore
import ZestReactor
import ZestTLS

/// One accepted HBONE connection (mTLS, then HTTP/2 server) for layers that run their own
/// listeners (the per-pod 15008 listeners). CONNECT requests go to `delegate`, which
/// authorizes them and connects upstream. Confined to its loop; the owner keeps it alive
/// until `onClose` runs.
public final class HBONEInboundConnection {
    let transport: HBONETransport

    /// Starts the TLS handshake on `socket` with `tls` (the pod's own certificate). `delegate`
    /// is held weakly: the owner keeps it alive as long as the connection.
    public init(loop: EventLoop, socket: Socket, tls: TLSContext, settings: HBONESettings = .server,
                delegate: HBONEServerDelegate,
                onClose: @escaping (HBONEInboundConnection, HBONEError?) -> Void) throws {
        try? socket.setNoDelay()
        guard let fd = socket.descriptor else { throw HBONEError.goingAway }
        let session = try TLSConnection(context: tls, fd: fd)
        transport = try HBONETransport(loop: loop, socket: socket, connected: true, tls: session) { [weak delegate] sink throws(HBONEError) in
            guard let delegate else { throw .goingAway }
            return try HBONEConnection.server(sink: sink, delegate: delegate, settings: settings)
        }
        transport.onReady = { t in t.connection?.peerIdentity = t.tls.peerIdentity }
        transport.onClose = { [weak self] _, error in
            guard let self else { return }
            onClose(self, error)
        }
    }

    /// The client's verified SPIFFE identity, once the handshake is done.
    public var peerIdentity: SpiffeID? { transport.tls.peerIdentity }

    /// The HTTP/2 connection, once the handshake is done.
    public var connection: HBONEConnection? { transport.connection }

    /// Graceful drain: GOAWAY; open tunnels run to their end.
    public func drain() { transport.connection?.drain() }

    /// Ends the connection now: every tunnel fails, close_notify, socket closed.
    public func close() { transport.closeTransport(.goingAway) }
}
