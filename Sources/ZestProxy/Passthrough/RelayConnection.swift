import ZestCore
import ZestReactor

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
    private unowned(unsafe) let worker: RelayWorker
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
    private var toUpstream = BufferedCopy()
    private var toClient = BufferedCopy()
    private var splicedToUpstream = SplicedCopy()
    private var splicedToClient = SplicedCopy()

    /// Starts the upstream connect and registers both sockets. Throws (after resetting the
    /// client) when the connect cannot even start.
    init(client: Socket, worker: RelayWorker) throws(SyscallError) {
        self.loop = worker.loop
        self.worker = worker
        self.client = client
        clientFD = client.descriptor!
        try? client.setNoDelay()
        let connected: IOResult<Void>
        do {
            (upstream, connected) = try Socket.connect(to: worker.configuration.upstream, mark: worker.configuration.mark)
        } catch {
            client.closeWithReset()
            throw error
        }
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
            timer = loop.schedule(after: worker.configuration.connectTimeout, self)
        }
    }

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
                worker.stats.connectFailures += 1
                abort()
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
        switch worker.configuration.copyMode {
        case .buffered:
            if !toUpstream.isFinished && toUpstreamGate.ready {
                a = toUpstream.pump(from: client, to: upstream, pool: pool, trustShortRead: toUpstreamGate.trustShortRead)
            }
            if !toClient.isFinished && toClientGate.ready {
                b = toClient.pump(from: upstream, to: client, pool: pool, trustShortRead: toClientGate.trustShortRead)
            }
        case .splice:
            let cap = worker.configuration.pipeCapacity
            if !splicedToUpstream.isFinished && toUpstreamGate.ready {
                a = splicedToUpstream.pump(from: client, to: upstream, pipeCapacity: cap)
            }
            if !splicedToClient.isFinished && toClientGate.ready {
                b = splicedToClient.pump(from: upstream, to: client, pipeCapacity: cap)
            }
        }
        // Only a direction that ran learns from its pass; the other keeps its state.
        if let a { toUpstreamGate.passEnded(a) }
        if let b { toClientGate.passEnded(b) }
        if case .failed? = a { abort(); return }
        if case .failed? = b { abort(); return }
        let bothFinished = worker.configuration.copyMode == .buffered
            ? toUpstream.isFinished && toClient.isFinished
            : splicedToUpstream.isFinished && splicedToClient.isFinished
        if bothFinished { finish(); return }
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
            worker.stats.connectFailures += 1
            abort()
        case .relaying:
            // Checked on fire instead of re-armed per event: an active connection costs nothing.
            guard let idle = worker.configuration.idleTimeout else { return }
            let limit = MonotonicClock.nanoseconds(idle)
            if loop.now &- lastActivity >= limit {
                worker.stats.idleTimeouts += 1
                abort()
            } else {
                timer = loop.timers.schedule(at: lastActivity &+ limit, self)
            }
        case .closed:
            return
        }
    }

    private func startIdleTimer() {
        lastActivity = loop.now
        if let idle = worker.configuration.idleTimeout { timer = loop.schedule(after: idle, self) }
    }

    func loopStopping() {
        abort()
    }

    /// Both directions ended cleanly: close both sockets.
    private func finish() {
        tearDown()
        client.close()
        upstream.close()
        worker.stats.completed += 1
    }

    /// Something broke: close both sockets with RST.
    private func abort() {
        guard state != .closed else { return }
        tearDown()
        client.closeWithReset()
        upstream.closeWithReset()
        worker.stats.reset += 1
    }

    private func tearDown() {
        state = .closed
        if let t = timer { loop.cancel(t) }
        timer = nil
        loop.deregister(clientFD)
        loop.deregister(upstreamFD)
        toUpstream.releaseSlot(loop.bufferPool)
        toClient.releaseSlot(loop.bufferPool)
        splicedToUpstream.close()
        splicedToClient.close()
        worker.stats.active -= 1
        worker.stats.bytesToUpstream &+= toUpstream.bytes &+ splicedToUpstream.bytes
        worker.stats.bytesToClient &+= toClient.bytes &+ splicedToClient.bytes
    }
}
