import Foundation
import Synchronization

/// Runs `CertificateManager.refresh()` on its own control thread: wakes when the next
/// certificate is due (renewal at half-life, or a retry after backoff), at least every
/// `maximumSleep`, until stopped. Data-plane workers never fetch certificates themselves.
public final class CertificateRenewalThread: Sendable {
    private final class Flags: Sendable {
        let stopped = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
    }
    private let flags = Flags()

    public init(manager: CertificateManager, maximumSleep: Duration = .seconds(1)) {
        let cap = Double(maximumSleep.components.seconds) + Double(maximumSleep.components.attoseconds) / 1e18
        let thread = Thread { [flags] in
            while !flags.stopped.load(ordering: .acquiring) {
                let next = manager.refresh()
                let wait = next.map { $0.timeIntervalSince(manager.clock.now()) } ?? cap
                Thread.sleep(forTimeInterval: min(max(wait, 0.001), cap))
            }
            flags.finished.store(true, ordering: .releasing)
        }
        thread.name = "zest-cert-renewal"
        thread.start()
    }

    /// Asks the thread to stop after its current pass.
    public func stop() { flags.stopped.store(true, ordering: .releasing) }

    /// Whether the thread has exited.
    public var isFinished: Bool { flags.finished.load(ordering: .acquiring) }

    deinit { stop() }
}
