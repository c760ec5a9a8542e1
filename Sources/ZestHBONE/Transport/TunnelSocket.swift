import ZestCore
import ZestReactor

/// The plain TCP side of one tunnel: the accepted application connection (client) or the
/// upstream connection to the target (server).
///
/// Outbound, nghttp2 pulls: when it wants DATA the socket is read right then into a pool slot,
/// behind the slot's headroom, and the frame header is written in front of the bytes, so they
/// reach `SSL_write` without a copy. The slot is released as soon as they are sent; a tunnel
/// holds no buffer while idle. Inbound, DATA is written to the socket from the decrypted
/// buffer; what the socket does not take stays unconsumed in the window until it is writable.
///
/// A read that returns less than it asked for leaves the socket drained: with edge-triggered
/// epoll, bytes arriving after it raise a new readable event, so the socket is not read again
/// (to see EAGAIN) until one comes. That saves a `read(2)` per message. Once a hangup was
/// reported no new event will come, so then the socket is read until end of stream.
final class TunnelSocket: EventHandler, TimerHandler, HBONETunnelHandler {
    enum State { case connecting, waiting, open, closed }

    unowned(unsafe) let loop: EventLoop
    let socket: Socket
    let fd: FileDescriptor
    private(set) var state: State
    var tunnel: HBONETunnel?
    private var slot: BufferPool.Slot?
    private var slotStart = 0, slotEnd = 0
    private var readEnded = false
    /// The last read came back short, and no readable event came since: reading now would
    /// only return EAGAIN.
    private var drained = false
    /// epoll reported the peer's FIN (or an error): end of stream is queued behind the bytes.
    private var hangupSeen = false
    private var connectTimer: TimerID?
    /// Server: the upstream connect finished (true) or failed (false).
    var onConnected: ((TunnelSocket, Bool, String) -> Void)?
    /// Called once when the tunnel and the socket are both done.
    var onClose: ((TunnelSocket) -> Void)?
    /// Bytes read from the socket (to send into the tunnel) and written to it, as they move.
    var onBytes: ((_ fromSocket: Int, _ toSocket: Int) -> Void)?
    /// Why the tunnel failed (rejection status, reset, connection loss); nil while fine.
    private(set) var failure: HBONETunnelError?
    /// The tunnel opened (client: 200 received; server: 200 queued) at some point.
    private(set) var opened = false

    init(loop: EventLoop, socket: Socket, connecting: Bool) throws(SyscallError) {
        self.loop = loop
        self.socket = socket
        self.fd = socket.descriptor!
        state = connecting ? .connecting : .waiting
        try? socket.setNoDelay()
        try loop.register(fd, self)
        if connecting { connectTimer = loop.schedule(after: HBONETransport.connectTimeout, self) }
    }

    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        let readable = !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error])
        if readable { drained = false }
        if !events.isDisjoint(with: [.readHangup, .hangup, .error]) { hangupSeen = true }
        switch state {
        case .closed, .waiting:
            return
        case .connecting:
            guard !events.isDisjoint(with: [.writable, .error, .hangup]) else { return }
            if let connectTimer { loop.cancel(connectTimer) }
            connectTimer = nil
            do {
                try socket.finishConnect(reported: events)
                // Nothing readable was reported with the connect: the upstream has sent nothing yet.
                drained = !readable
                state = .waiting
                onConnected?(self, true, "")
            } catch {
                onConnected?(self, false, "\(error)")
            }
            onConnected = nil
        case .open:
            guard let tunnel else { return }
            if events.contains(.writable), tunnel.heldByteCount > 0 { tunnel.deliverHeldBytes() }
            if !readEnded, slot == nil, readable {
                tunnel.resumeSending()
            }
        }
    }

    /// Client: the CONNECT is being sent; read the application's bytes from now on, so they can
    /// leave behind it before the 200 (`HBONESettings.sendBeforeResponse`).
    func startSending() {
        guard state == .waiting else { return }
        state = .open
    }

    func timerFired(_ timer: TimerID) {
        guard timer == connectTimer, state == .connecting else { return }
        connectTimer = nil
        onConnected?(self, false, "connect timed out")
        onConnected = nil
    }

    // MARK: HBONETunnelHandler

    func tunnelDidOpen(_ tunnel: HBONETunnel) {
        guard state != .closed else { return }
        self.tunnel = tunnel
        state = .open
        opened = true
        tunnel.resumeSending()
    }

    func tunnel(_ tunnel: HBONETunnel, receive bytes: UnsafeRawBufferPointer) -> Int {
        guard state == .open, let base = bytes.baseAddress else { return 0 }
        var written = 0
        while written < bytes.count {
            do {
                switch try socket.write(from: base + written, count: bytes.count - written) {
                case .processed(let n):
                    written += n
                    onBytes?(0, n)
                case .wouldBlock: return written
                }
            } catch {
                tunnel.reset(.cancel)
                return bytes.count
            }
        }
        return written
    }

    /// Sends FIN to the application. Skipped when our own END_STREAM is already out: the
    /// stream then closes in the same step and `close` sends the FIN.
    func tunnelDidReceiveEnd(_ tunnel: HBONETunnel) {
        if tunnel.sendEnded, readEnded { return }
        try? socket.shutdownWrite()
    }

    func tunnelOutbound(_ tunnel: HBONETunnel) -> OutboundBytes? {
        guard state == .open else { return nil }
        let pool = loop.bufferPool
        if slot == nil {
            guard !readEnded, !drained, let s = pool.take() else { return nil }
            let r: IOResult<Int>
            do {
                r = try socket.read(into: pool.payload(s), count: pool.payloadCapacity)
            } catch {
                pool.release(s)
                readEnded = true
                tunnel.reset(.cancel)
                return nil
            }
            switch r {
            case .processed(0):
                pool.release(s)
                readEnded = true
                tunnel.finishSending()
                return nil
            case .processed(let n):
                slot = s
                slotStart = 0
                slotEnd = n
                drained = n < pool.payloadCapacity && !hangupSeen
                onBytes?(n, 0)
            case .wouldBlock:
                pool.release(s)
                drained = true
                return nil
            }
        }
        guard let slot else { return nil }
        return OutboundBytes(start: pool.payload(slot) + slotStart, count: slotEnd - slotStart,
                             headroom: pool.headroom + slotStart)
    }

    func tunnel(_ tunnel: HBONETunnel, didSend count: Int) {
        slotStart += count
        if slotStart >= slotEnd, let s = slot {
            loop.bufferPool.release(s)
            slot = nil
        }
    }

    func tunnel(_ tunnel: HBONETunnel, didCloseWith error: HBONETunnelError?) {
        failure = failure ?? error
        close(reset: error != nil)
    }

    /// Closes the socket (with RST when the tunnel failed, so the application sees the error).
    func close(reset: Bool) {
        guard state != .closed else { return }
        state = .closed
        if let connectTimer { loop.cancel(connectTimer) }
        connectTimer = nil
        if let s = slot { loop.bufferPool.release(s); slot = nil }
        loop.forgetClosing(fd)
        if reset { socket.closeWithReset() } else { socket.close() }
        if let t = tunnel, t.state != .closed { t.reset(.cancel) }
        tunnel = nil
        onClose?(self)
        onClose = nil
        onConnected = nil
        onBytes = nil
    }

    func loopStopping() { close(reset: true) }
}
