import ZestCore
import ZestReactor

/// The plain TCP side of one HBONE tunnel, for layers that build their own listeners (the
/// per-pod proxies): the captured application connection on the client side, or the upstream
/// connection to the application on the server side. Wraps the zero-copy `TunnelSocket`.
///
/// Confined to its loop's thread. The owner keeps it alive until `onClose` has run.
public final class TunnelEndpoint {
    let socket: TunnelSocket

    /// Registers `socket` on `loop`. `connecting` is true for an upstream connect still in
    /// progress (finish it with `onConnected`). `onBytes` hears bytes as they move
    /// (read from the socket, written to it); `onClose` runs once when socket and tunnel are done.
    public init(loop: EventLoop, socket: Socket, connecting: Bool,
                onBytes: @escaping (_ fromSocket: Int, _ toSocket: Int) -> Void,
                onClose: @escaping (TunnelEndpoint) -> Void) throws(SyscallError) {
        self.socket = try TunnelSocket(loop: loop, socket: socket, connecting: connecting)
        self.socket.onBytes = onBytes
        self.socket.onClose = { [weak self] _ in
            guard let self else { return }
            onClose(self)
        }
    }

    /// Server side: runs `body` once the upstream connect finished (`nil`) or failed (the reason).
    public func onConnected(_ body: @escaping (TunnelEndpoint, String?) -> Void) {
        socket.onConnected = { [weak self] _, ok, reason in
            guard let self else { return }
            body(self, ok ? nil : reason)
        }
    }

    /// Server side: the connect already completed synchronously; report it now.
    public func connectCompletedImmediately() {
        socket.handleEvents(.writable, descriptor: socket.fd)
    }

    /// Server side: answers 200 on `tunnel` and starts copying between it and this socket.
    public func accept(_ tunnel: HBONETunnel) {
        socket.tunnel = tunnel
        tunnel.accept(handler: socket)
    }

    /// Why the tunnel failed (a non-200 answer, a reset, the connection's loss); nil otherwise.
    public var failure: HBONETunnelError? { socket.failure }

    /// Whether the tunnel opened at some point (client: the 200 arrived; server: it was queued).
    public var didOpen: Bool { socket.opened }

    /// Closes the socket (with RST when `reset`) and resets the tunnel if it is still open.
    public func close(reset: Bool) { socket.close(reset: reset) }
}
