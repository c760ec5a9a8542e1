import ZestCore
import ZestPolicy
import ZestReactor
import ZestTelemetry

/// A pod connection carried as plain TCP on both legs: outbound passthrough (app → unknown
/// destination) and inbound plaintext (15006 → app). Counts bytes into the connection's
/// Istio metrics as they move and writes the access-log line at the end.
final class ProxiedRelay: RelayObserver, ProxiedConnection {
    private unowned(unsafe) let worker: PodWorker
    private var relay: RelayConnection?
    private var telemetry: ConnectionTelemetry
    private var entry: AccessLogEntry
    let authorization: AuthorizationRequest?
    private var closeReason: String?

    /// Starts relaying `client` to `upstream` (connecting). `authorization` is set for inbound
    /// connections so a policy change can re-check them.
    init(worker: PodWorker, client: Socket, upstream: Socket, labels: TrafficLabels, entry: AccessLogEntry,
         authorization: AuthorizationRequest?) throws {
        self.worker = worker
        self.entry = entry
        self.authorization = authorization
        telemetry = ConnectionTelemetry(shard: worker.shard, labels: labels)
        worker.track(self)
        do {
            relay = try RelayConnection(loop: worker.loop, client: client, upstream: upstream, connected: .wouldBlock,
                                        settings: worker.context.relaySettings, observer: self)
        } catch {
            worker.untrack(self)
            var e = entry
            e.error = "\(error)"
            telemetry.close(worker.context.accessLog, e)
            throw error
        }
    }

    func relay(_ relay: RelayConnection, copiedToUpstream toUpstream: Int, toClient: Int) {
        telemetry.received(toUpstream)
        telemetry.sent(toClient)
        if entry.direction == .outbound {
            worker.counters.bytesFromApp &+= UInt64(toUpstream)
            worker.counters.bytesToApp &+= UInt64(toClient)
        } else {
            worker.counters.bytesToApp &+= UInt64(toUpstream)
            worker.counters.bytesFromApp &+= UInt64(toClient)
        }
    }

    func relay(_ relay: RelayConnection, endedWith outcome: RelayOutcome) {
        switch outcome {
        case .completed: break
        case .connectFailed(let reason): entry.error = "upstream connect failed: \(reason)"
        case .reset(let reason): entry.error = closeReason ?? reason
        case .idleTimedOut: entry.error = closeReason ?? "idle timeout"
        }
        telemetry.close(worker.context.accessLog, entry)
        worker.untrack(self)
        self.relay = nil
    }

    func terminate(reason: String) {
        closeReason = reason
        relay?.close(reason: reason)
    }
}
