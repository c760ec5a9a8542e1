import ZestCore
import ZestReactor

/// The relay's part on one worker: its accept loop and counters. Connections it accepts live
/// and die on this worker. Holds its loop strongly so the counters (and pool figures) stay
/// readable after the worker thread ended; the loop drops the acceptor when it stops, so no
/// cycle outlives the relay.
final class RelayWorker {
    let loop: EventLoop
    let configuration: RelayConfiguration
    var stats = RelayStats()
    /// Owned by the loop's handler table; gone once the loop stopped (no accepts after that).
    private weak var acceptor: Acceptor?

    init(loop: EventLoop, listener: ListeningSocket, configuration: RelayConfiguration) throws(SyscallError) {
        self.loop = loop
        self.configuration = configuration
        let acceptor = try Acceptor(loop: loop, listener: listener) { [unowned self] client in
            self.accept(client)
        }
        self.acceptor = acceptor
    }

    private func accept(_ client: Socket) {
        stats.accepted += 1
        stats.active += 1
        do {
            let (upstream, connected) = try Socket.connect(to: configuration.upstream, mark: configuration.mark)
            _ = try RelayConnection(loop: loop, client: client, upstream: upstream, connected: connected,
                                    settings: configuration.relaySettings, observer: self)
        } catch {
            client.closeWithReset()
            stats.active -= 1
            stats.connectFailures += 1
            if error.isOutOfDescriptors { acceptor?.backOff() }
        }
    }

    var snapshot: RelayStats {
        var s = stats
        s.pool = loop.bufferPool.stats
        return s
    }
}

extension RelayWorker: RelayObserver {
    func relay(_ relay: RelayConnection, copiedToUpstream toUpstream: Int, toClient: Int) {
        stats.bytesToUpstream &+= UInt64(toUpstream)
        stats.bytesToClient &+= UInt64(toClient)
    }

    func relay(_ relay: RelayConnection, endedWith outcome: RelayOutcome) {
        stats.active -= 1
        switch outcome {
        case .completed: stats.completed += 1
        case .connectFailed: stats.connectFailures += 1; stats.reset += 1
        case .reset: stats.reset += 1
        case .idleTimedOut: stats.idleTimeouts += 1; stats.reset += 1
        }
    }
}

extension RelayConfiguration {
    var relaySettings: RelaySettings {
        RelaySettings(connectTimeout: connectTimeout, idleTimeout: idleTimeout, copyMode: copyMode,
                      pipeCapacity: pipeCapacity)
    }
}
