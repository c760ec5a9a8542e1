/// One CONNECT stream: one user TCP connection carried inside an HBONE connection.
/// Confined to the connection's thread like the connection itself.
public final class HBONETunnel {
    /// `draining`: both directions ended on the wire, but the application has not taken every
    /// received byte yet; the tunnel finishes when it has.
    enum State { case requested, pending, open, draining, closed }

    public let streamID: Int32
    /// Client: what was sent. Server: what was received and validated.
    public let request: ConnectRequest
    public internal(set) weak var handler: HBONETunnelHandler?
    /// Strong: a draining tunnel may outlive the transport, and its application may still call
    /// in. The connection drops its tunnels when they close, which ends the cycle.
    let connection: HBONEConnection
    var state: State
    /// Client: the response `:status` as it arrives.
    var status: Int?
    /// Local direction: `finishSending` was called / END_STREAM was written.
    var sendFinishing = false
    var sendEnded = false
    /// Remote direction: END_STREAM arrived / was reported to the handler.
    var receiveEnded = false
    var receiveEndReported = false
    /// Payload the handler could not take yet; its flow-control credit is withheld, so this
    /// never exceeds the stream window (4 MiB) whatever the peer does.
    var held = HeldBytes()
    var closeReported = false

    init(streamID: Int32, request: ConnectRequest, connection: HBONEConnection, state: State,
         handler: HBONETunnelHandler?) {
        self.streamID = streamID
        self.request = request
        self.connection = connection
        self.state = state
        self.handler = handler
    }

    /// Bytes received and not yet taken by the handler.
    public var heldByteCount: Int { held.count }

    /// Server: the upstream connect succeeded; answer 200 and start carrying bytes.
    public func accept(handler: HBONETunnelHandler) {
        guard state == .pending else { return }
        self.handler = handler
        connection.accept(self)
    }

    /// Server: refuse the request with the rejection's status (END_STREAM).
    public func reject(_ rejection: ConnectRejection) {
        guard state == .pending else { return }
        connection.reject(self, rejection)
    }

    /// Whether DATA may be sent now: once open, or (client, `sendBeforeResponse`) as soon as
    /// the CONNECT is out.
    var maySend: Bool {
        state == .open || (state == .requested && connection.settings.sendBeforeResponse)
    }

    /// New outbound bytes are ready: nghttp2 asks `tunnelOutbound` again.
    public func resumeSending() {
        guard maySend, !sendEnded else { return }
        connection.resume(self)
    }

    /// The application closed its write side: END_STREAM follows the bytes already offered.
    public func finishSending() {
        guard !sendFinishing else { return }
        sendFinishing = true
        if maySend { connection.resume(self) }
    }

    /// The application can take bytes again: offers the held bytes and reopens the window for
    /// what it takes, then reports a pending END_STREAM once nothing is held.
    public func deliverHeldBytes() {
        connection.deliverHeld(self)
    }

    /// Aborts the tunnel with RST_STREAM (`code`, CANCEL by default) when the application side failed.
    public func reset(_ code: H2ErrorCode = .cancel) {
        guard state != .closed else { return }
        connection.resetTunnel(self, code: code)
    }
}
