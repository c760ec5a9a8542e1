import ZestCore
import ZestReactor
import ZestTLS

/// One HBONE connection on a worker: a TCP socket, the TLS session over it, and the HTTP/2
/// connection over that. Decrypted bytes go from a pool slot straight into nghttp2; frames go
/// from nghttp2 (or, for DATA, from the tunnel's own pool slot) straight into `SSL_write`, and
/// only what TLS cannot take at once is copied into a bounded queue.
///
/// Registered with the loop for its socket; the loop's handler table keeps it alive until
/// `closeTransport` deregisters it.
final class HBONETransport: EventHandler, TimerHandler, BufferWaiter, HBONEByteSink, HBONEConnectionObserver {
    /// `lingering`: HTTP/2 finished cleanly; the last queued bytes are written, then close_notify
    /// and FIN, and the peer's remaining input is read and dropped until it closes too. Closing
    /// at once would make the kernel answer unread input with RST and drop our unsent tail.
    enum State { case connecting, handshaking, running, lingering, closed }

    unowned(unsafe) let loop: EventLoop
    let socket: Socket
    let fd: FileDescriptor
    let tls: TLSConnection
    private(set) var state: State
    /// Created once the handshake completes.
    private(set) var h2: HBONEConnection?
    private let makeConnection: (HBONEByteSink) throws(HBONEError) -> HBONEConnection
    /// The connection is ready (handshake done) or failed before it was; called once each.
    var onReady: ((HBONETransport) -> Void)?
    var onClose: ((HBONETransport, HBONEError?) -> Void)?
    var onGoingAway: ((HBONETransport) -> Void)?
    /// Encoded HTTP/2 output TLS did not take yet (`SSL_write` said want-write). Past `queueLimit`
    /// the sink refuses writes and nghttp2 stops producing.
    private var queue: [UInt8] = []
    private var queueOffset = 0
    static let queueLimit = 512 << 10
    private var timer: TimerID?
    private var waitingForBuffers = false
    private var connectTimer: TimerID?
    static let connectTimeout: Duration = .seconds(10)
    /// How long a finished connection waits for its peer to close after our FIN.
    static let lingerTimeout: Duration = .seconds(10)
    private var writesShut = false

    init(loop: EventLoop, socket: Socket, connected: Bool, tls: TLSConnection,
         makeConnection: @escaping (HBONEByteSink) throws(HBONEError) -> HBONEConnection) throws(SyscallError) {
        self.loop = loop
        self.socket = socket
        self.fd = socket.descriptor!
        self.tls = tls
        self.makeConnection = makeConnection
        state = connected ? .handshaking : .connecting
        tls.skipsReadsWhenDrained = true
        try loop.register(fd, self)
        if !connected { connectTimer = loop.schedule(after: Self.connectTimeout, self) }
    }

    var connection: HBONEConnection? { h2 }

    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        if !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) { tls.socketBecameReadable() }
        switch state {
        case .closed:
            return
        case .connecting:
            guard !events.isDisjoint(with: [.writable, .error, .hangup]) else { return }
            do {
                try socket.finishConnect(reported: events)
            } catch {
                closeTransport(.protocolViolation("TCP connect failed: \(error); is the peer listening and port 15008 reachable?"))
                return
            }
            cancelConnectTimer()
            state = .handshaking
            handshake()
        case .handshaking:
            handshake()
        case .running:
            flushQueue()
            readLoop()
        case .lingering:
            linger()
        }
    }

    private func handshake() {
        do {
            switch try tls.handshake() {
            case .done:
                state = .running
                let c = try makeConnection(self)
                c.observer = self
                h2 = c
                armTimer()
                onReady?(self)
                readLoop()
            case .wantRead, .wantWrite:
                return
            case .closed:
                closeTransport(.protocolViolation("the peer closed during the TLS handshake"))
            }
        } catch let e as TLSError {
            closeTransport(.protocolViolation("TLS handshake failed: \(e)"))
        } catch {
            closeTransport(error as? HBONEError ?? .protocolViolation("\(error)"))
        }
    }

    /// Decrypts into a pool slot and hands it to nghttp2, until TLS wants more input or the
    /// pool is empty. Each slot is filled with as many TLS records as fit before nghttp2 sees
    /// it, so DATA reaches the application socket in slot-sized writes rather than one write
    /// per 16 KiB record.
    ///
    /// Reading goes on while our own output is blocked: two peers that both stop reading when
    /// their output is full deadlock under bidirectional load. What reading can make us hold
    /// is bounded anyway: DATA by the flow-control windows (credit is returned only when the
    /// application took the bytes), queued SETTINGS/PING ACKs by nghttp2's limit and the flood
    /// guard; DATA we send is pulled only when the sink has room.
    private func readLoop() {
        let pool = loop.bufferPool
        while state == .running, let h2 {
            guard let slot = pool.take() else {
                if !waitingForBuffers { waitingForBuffers = true; loop.waitForBuffers(self) }
                return
            }
            let buffer = UnsafeMutableRawBufferPointer(start: pool.payload(slot), count: pool.payloadCapacity)
            var filled = 0
            var ended: HBONEError?
            var drained = false
            while filled < buffer.count {
                let r: TLSProgress
                do {
                    r = try tls.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                } catch {
                    ended = .protocolViolation("TLS read failed: \(error)")
                    break
                }
                if case .done(let n) = r, n > 0 {
                    filled += n
                    continue
                }
                if r == .closed { ended = .protocolViolation("the peer closed the TLS connection") }
                drained = true
                break
            }
            if filled > 0 { h2.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])) }
            pool.release(slot)
            if let ended {
                h2.transportClosed(ended)
                return
            }
            if drained { return }
        }
    }

    func buffersAvailable() {
        waitingForBuffers = false
        readLoop()
    }

    // MARK: HBONEByteSink

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state == .running else { return true }
        if queueOffset < queue.count {
            guard queue.count - queueOffset < Self.queueLimit else { return false }
            queue.append(contentsOf: bytes)
            return true
        }
        var offset = 0
        while offset < bytes.count {
            do {
                switch try tls.write(from: UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                case .done(let n): offset += n
                case .wantRead, .wantWrite:
                    queue.removeAll(keepingCapacity: true)
                    queueOffset = 0
                    queue.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                    return true
                case .closed:
                    return true
                }
            } catch {
                return true
            }
        }
        return true
    }

    /// Writes the queued remainder; once empty, lets the HTTP/2 connection produce again.
    private func flushQueue() {
        while queueOffset < queue.count {
            let r = queue.withUnsafeBytes { all in
                try? tls.write(from: UnsafeRawBufferPointer(rebasing: all[queueOffset...]))
            }
            guard case .done(let n)? = r else { return }
            queueOffset += n
        }
        queue.removeAll(keepingCapacity: queue.capacity <= 64 << 10)
        queueOffset = 0
        if let h2, h2.outputBlocked { h2.sinkDidDrain() }
    }

    // MARK: Timers and lifecycle

    private func armTimer() {
        guard let h2, state == .running else { return }
        if let timer { loop.cancel(timer) }
        let delay = max(h2.nextTimerDeadline - .now, .milliseconds(1))
        timer = loop.schedule(after: delay, self)
    }

    func timerFired(_ t: TimerID) {
        if t == connectTimer {
            connectTimer = nil
            closeTransport(state == .lingering ? nil
                : .protocolViolation("TCP connect timed out; maybe a NetworkPolicy is blocking HBONE port 15008"))
            return
        }
        guard t == timer else { return }
        timer = nil
        h2?.tick()
        armTimer()
    }

    private func cancelConnectTimer() {
        if let connectTimer { loop.cancel(connectTimer) }
        connectTimer = nil
    }

    func hboneConnectionIsGoingAway(_ connection: HBONEConnection) { onGoingAway?(self) }

    func hboneConnection(_ connection: HBONEConnection, didCloseWith error: HBONEError?) {
        guard error == nil, state == .running else {
            closeTransport(error)
            return
        }
        state = .lingering
        if let timer { loop.cancel(timer) }
        timer = nil
        connectTimer = loop.schedule(after: Self.lingerTimeout, self)
        linger()
    }

    /// Writes what is queued, then close_notify and FIN once; drops input until the peer closes.
    private func linger() {
        if !writesShut {
            flushQueue()
            guard queueOffset >= queue.count else { return }
            writesShut = true
            _ = try? tls.shutdown()
            try? socket.shutdownWrite()
        }
        let pool = loop.bufferPool
        guard let slot = pool.take() else {
            closeTransport(nil)
            return
        }
        defer { pool.release(slot) }
        let buffer = UnsafeMutableRawBufferPointer(start: pool.payload(slot), count: pool.payloadCapacity)
        while true {
            switch try? tls.read(into: buffer) {
            case .done(let n)? where n > 0: continue
            case .wantRead?, .wantWrite?: return
            default:
                closeTransport(nil)
                return
            }
        }
    }

    /// Ends everything: tunnels fail, close_notify is attempted once, the socket closes.
    func closeTransport(_ error: HBONEError?) {
        guard state != .closed else { return }
        let wasRunning = state == .running || (state == .lingering && !writesShut)
        state = .closed
        cancelConnectTimer()
        if let timer { loop.cancel(timer) }
        timer = nil
        h2?.transportClosed(error)
        if wasRunning {
            flushQueue()
            _ = try? tls.shutdown()
        }
        loop.forgetClosing(fd)
        socket.close()
        onClose?(self, error)
        onReady = nil
        onClose = nil
        onGoingAway = nil
    }

    func loopStopping() { closeTransport(.goingAway) }
}
