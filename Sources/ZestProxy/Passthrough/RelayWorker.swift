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

    init(loop: EventLoop, listener: ListeningSocket, configuration: RelayConfiguration) throws(SyscallError) {
        self.loop = loop
        self.configuration = configuration
        _ = try Acceptor(loop: loop, listener: listener) { [unowned self] client in
            self.accept(client)
        }
    }

    private func accept(_ client: Socket) {
        stats.accepted += 1
        stats.active += 1
        do {
            _ = try RelayConnection(client: client, worker: self)
        } catch {
            stats.active -= 1
            stats.connectFailures += 1
        }
    }

    var snapshot: RelayStats {
        var s = stats
        s.pool = loop.bufferPool.stats
        return s
    }
}
