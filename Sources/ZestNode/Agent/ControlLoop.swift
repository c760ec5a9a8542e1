import Foundation
import ZestIdentity
import ZestReactor
import ZestTelemetry

/// The agent's control thread: renews certificates when due and keeps readiness and the
/// pending-pod gauge in step with enrollment. Ticks every 200 ms; never touches the data path.
final class ControlLoop: Sendable {
    private let stopSignal = StopSignal()
    private let finished = DispatchSemaphore(value: 0)

    init(certificates: CertificateManager, enrollment: ZdsClient, pods: PodRegistry,
         certificatesTask: ReadinessTask, snapshotTask: ReadinessTask, logger: Logger) {
        let stop = stopSignal
        let done = finished
        let thread = Thread {
            var nextRenewal = Date.distantPast
            var wasReady = false
            var startupReleased = false
            while !stop.isStopped {
                if Date() >= nextRenewal {
                    nextRenewal = min(certificates.refresh() ?? .distantFuture, Date().addingTimeInterval(30))
                }
                let unavailable = certificates.identities.filter {
                    if case .available = certificates.status(of: $0) { return false }
                    return true
                }
                unavailable.isEmpty ? certificatesTask.markReady() : certificatesTask.markPending()
                let status = enrollment.status
                let ready = status.connected && status.isReady
                ready ? snapshotTask.markReady() : snapshotTask.markPending()
                if ready && !startupReleased {
                    // Start-up is over: the code only it ran need not stay resident.
                    StartupPages.release()
                    startupReleased = true
                }
                if ready != wasReady {
                    logger.info("zds", ready ? "enrollment snapshot received; pods in sync" : "enrollment not in sync",
                                [LogField("pods", status.enrolled.count), LogField("pending", status.pending.count)])
                    wasReady = ready
                }
                pods.setPending(status.pending.count)
                stop.sleep(.milliseconds(200))
            }
            done.signal()
        }
        thread.name = "zest-control"
        thread.start()
    }

    /// Stops the thread and waits for it.
    func stop() {
        stopSignal.stop()
        finished.wait()
    }
}
