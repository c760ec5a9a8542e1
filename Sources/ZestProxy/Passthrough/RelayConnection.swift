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
    private var connectTimer: TimerID?
    private var waitingForBuffers = false
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
        } else {
            connectTimer = loop.schedule(after: worker.configuration.connectTimeout, self)
        }
    }

    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        switch state {
        case .closed:
            return
        case .connecting:
            guard descriptor == upstreamFD, !events.isDisjoint(with: [.writable, .error, .hangup]) else { return }
            do {
                try upstream.finishConnect()
            } catch {
                worker.stats.connectFailures += 1
                abort()
                return
            }
            if let t = connectTimer { loop.cancel(t) }
            connectTimer = nil
            state = .relaying
            pumpBoth()
        case .relaying:
            pumpBoth()
        }
    }

    /// Runs both directions; every event re-tries both (a writable edge on one socket resumes
    /// the direction that was blocked writing to it).
    private func pumpBoth() {
        let pool = loop.bufferPool
        let a: CopyProgress, b: CopyProgress
        switch worker.configuration.copyMode {
        case .buffered:
            a = toUpstream.isFinished ? .finished : toUpstream.pump(from: client, to: upstream, pool: pool)
            b = toClient.isFinished ? .finished : toClient.pump(from: upstream, to: client, pool: pool)
        case .splice:
            let cap = worker.configuration.pipeCapacity
            a = splicedToUpstream.isFinished ? .finished : splicedToUpstream.pump(from: client, to: upstream, pipeCapacity: cap)
            b = splicedToClient.isFinished ? .finished : splicedToClient.pump(from: upstream, to: client, pipeCapacity: cap)
        }
        if case .failed = a { abort(); return }
        if case .failed = b { abort(); return }
        if case .finished = a, case .finished = b { finish(); return }
        var starved = false
        if case .starved = a { starved = true }
        if case .starved = b { starved = true }
        if starved && !waitingForBuffers {
            waitingForBuffers = true
            loop.waitForBuffers(self)
        }
    }

    func buffersAvailable() {
        waitingForBuffers = false
        if state == .relaying { pumpBoth() }
    }

    func timerFired(_ timer: TimerID) {
        guard state == .connecting, timer == connectTimer else { return }
        connectTimer = nil
        worker.stats.connectFailures += 1
        abort()
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
        if let t = connectTimer { loop.cancel(t) }
        connectTimer = nil
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
