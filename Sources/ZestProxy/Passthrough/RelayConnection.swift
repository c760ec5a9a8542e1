import ZestCore
import ZestReactor

/// How a relayed connection ended.
enum RelayOutcome {
    /// Both directions finished with FIN.
    case completed
    /// The upstream connect was refused or timed out; the client was reset.
    case connectFailed(String)
    /// A side broke or reset, or the owner closed it; both sides got RST.
    case reset(String)
    /// No byte moved for the idle timeout; both sides got RST.
    case idleTimedOut
}

/// Hears about one relayed connection: bytes as they move and the end.
protocol RelayObserver: AnyObject {
    /// `toUpstream` bytes were written upstream and `toClient` to the client since the last call.
    func relay(_ relay: RelayConnection, copiedToUpstream toUpstream: Int, toClient: Int)
    /// The connection is over; called once.
    func relay(_ relay: RelayConnection, endedWith outcome: RelayOutcome)
}

/// Copy settings of a relayed connection.
struct RelaySettings {
    var connectTimeout: Duration
    var idleTimeout: Duration? = nil
    var copyMode: CopyMode
    var pipeCapacity: Int32?
}

/// One relayed TCP connection on one worker: the accepted client socket and the upstream socket,
/// copied both ways with independent half-close.
///
/// - FIN read on one side becomes `shutdown(SHUT_WR)` on the other; the opposite direction keeps
///   flowing until it ends too, then both sockets close.
/// - A reset or broken socket on either side closes the other with `SO_LINGER` 0, so the peer
///   sees RST, not a clean end of stream.
/// - A refused or timed-out upstream connect resets the client.
final class RelayConnection: EventHandler, TimerHandler, BufferWaiter {
    private enum State { case connecting, relaying, closed }

    private unowned(unsafe) let loop: EventLoop
    private weak var observer: RelayObserver?
    private let settings: RelaySettings
    private let client: Socket
    private let upstream: Socket
    private let clientFD: FileDescriptor
    private let upstreamFD: FileDescriptor
    private var state = State.connecting
    /// The connect deadline while connecting, then the idle check (if an idle timeout is set).
    private var timer: TimerID?
    private var lastActivity: UInt64 = 0
    private var waitingForBuffers = false
    /// Which direction an edge concerns (see `DirectionGate`).
    private var toUpstreamGate = DirectionGate()
    private var toClientGate = DirectionGate()
    private var toUpstream: DirectionCopy
    private var toClient: DirectionCopy
    private var reportedToUpstream: UInt64 = 0
    private var reportedToClient: UInt64 = 0

    /// Registers both sockets; `upstream` is connecting (`connected` tells whether it already
    /// finished). Throws (after resetting the client and closing upstream) when registration fails.
    init(loop: EventLoop, client: Socket, upstream: Socket, connected: IOResult<Void>, settings: RelaySettings,
         observer: RelayObserver) throws(SyscallError) {
        self.loop = loop
        self.observer = observer
        self.settings = settings
        self.client = client
        self.upstream = upstream
        toUpstream = DirectionCopy(mode: settings.copyMode, pipeCapacity: settings.pipeCapacity)
        toClient = DirectionCopy(mode: settings.copyMode, pipeCapacity: settings.pipeCapacity)
        clientFD = client.descriptor!
        try? client.setNoDelay()
        upstreamFD = upstream.descriptor!
        do {
            try loop.register(clientFD, self)
            try loop.register(upstreamFD, self)
        } catch {
            loop.deregister(clientFD)
            client.closeWithReset()
            upstream.close()
            throw error
        }
        if case .processed = connected {
            state = .relaying
            startIdleTimer()
        } else {
            timer = loop.schedule(after: settings.connectTimeout, self)
        }
    }

    /// Bytes copied so far (client→upstream, upstream→client).
    var bytes: (toUpstream: UInt64, toClient: UInt64) {
        (toUpstream.bytes, toClient.bytes)
    }

    var isClosed: Bool { state == .closed }

    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        switch state {
        case .closed:
            return
        case .connecting:
            note(events, on: descriptor)
            guard descriptor == upstreamFD, !events.isDisjoint(with: [.writable, .error, .hangup]) else { return }
            do {
                try upstream.finishConnect()
            } catch {
                abort(.connectFailed("\(error)"))
                return
            }
            if let t = timer { loop.cancel(t) }
            timer = nil
            state = .relaying
            startIdleTimer()
            pumpBoth()
        case .relaying:
            lastActivity = loop.now
            note(events, on: descriptor)
            pumpBoth()
        }
    }

    /// Records what an edge means for each direction.
    private func note(_ events: IOEvents, on descriptor: FileDescriptor) {
        if descriptor == clientFD {
            toUpstreamGate.sourceEvent(events)
            toClientGate.destinationEvent(events)
        } else {
            toClientGate.sourceEvent(events)
            toUpstreamGate.destinationEvent(events)
        }
    }

    /// Runs each direction its gate says has work (a writable edge on one socket resumes the
    /// direction blocked writing to it); closes the connection when both have ended.
    private func pumpBoth() {
        let pool = loop.bufferPool
        var a: CopyProgress?, b: CopyProgress?
        defer { reportBytes() }
        if !toUpstream.isFinished && toUpstreamGate.ready {
            a = toUpstream.pump(from: client, to: upstream, pool: pool, trustShortRead: toUpstreamGate.trustShortRead)
        }
        if !toClient.isFinished && toClientGate.ready {
            b = toClient.pump(from: upstream, to: client, pool: pool, trustShortRead: toClientGate.trustShortRead)
        }
        // Only a direction that ran learns from its pass; the other keeps its state.
        if let a { toUpstreamGate.passEnded(a) }
        if let b { toClientGate.passEnded(b) }
        if case .failed(let e)? = a { abort(.reset("client side: \(e)")); return }
        if case .failed(let e)? = b { abort(.reset("upstream side: \(e)")); return }
        if toUpstream.isFinished && toClient.isFinished { finish(); return }
        var starved = false
        if case .starved? = a { starved = true }
        if case .starved? = b { starved = true }
        if starved && !waitingForBuffers {
            waitingForBuffers = true
            loop.waitForBuffers(self)
        }
    }

    func buffersAvailable() {
        waitingForBuffers = false
        if state == .relaying { pumpBoth() }
    }

    func timerFired(_ fired: TimerID) {
        guard fired == timer else { return }
        timer = nil
        switch state {
        case .connecting:
            abort(.connectFailed("connect timed out after \(settings.connectTimeout)"))
        case .relaying:
            // Checked on fire instead of re-armed per event: an active connection costs nothing.
            guard let idle = settings.idleTimeout else { return }
            let limit = MonotonicClock.nanoseconds(idle)
            if loop.now &- lastActivity >= limit {
                abort(.idleTimedOut)
            } else {
                timer = loop.timers.schedule(at: lastActivity &+ limit, self)
            }
        case .closed:
            return
        }
    }

    private func startIdleTimer() {
        lastActivity = loop.now
        if let idle = settings.idleTimeout { timer = loop.schedule(after: idle, self) }
    }

    func loopStopping() {
        abort(.reset("the worker stopped"))
    }

    /// Closes both sides with RST now (policy denial, drain deadline, pod removal).
    func close(reason: String) {
        abort(.reset(reason))
    }

    private func reportBytes() {
        let (up, down) = bytes
        guard up != reportedToUpstream || down != reportedToClient else { return }
        let du = Int(up &- reportedToUpstream), dd = Int(down &- reportedToClient)
        reportedToUpstream = up
        reportedToClient = down
        observer?.relay(self, copiedToUpstream: du, toClient: dd)
    }

    /// Both directions ended cleanly: close both sockets.
    private func finish() {
        tearDown()
        client.close()
        upstream.close()
        observer?.relay(self, endedWith: .completed)
    }

    /// Something broke: close both sockets with RST.
    private func abort(_ outcome: RelayOutcome) {
        guard state != .closed else { return }
        tearDown()
        client.closeWithReset()
        upstream.closeWithReset()
        observer?.relay(self, endedWith: outcome)
    }

    private func tearDown() {
        state = .closed
        if let t = timer { loop.cancel(t) }
        timer = nil
        // Both sockets are closed right after, which takes them out of epoll.
        loop.forgetClosing(clientFD)
        loop.forgetClosing(upstreamFD)
        toUpstream.release(loop.bufferPool)
        toClient.release(loop.bufferPool)
        reportBytes()
    }
}
