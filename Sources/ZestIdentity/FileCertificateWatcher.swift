import Foundation
import Synchronization

/// Polls a `FileCertificateProvider` for changed files on its own thread (a control-plane
/// thread, never a worker) and reports each new certificate or failed reload.
public final class FileCertificateWatcher: Sendable {
    private final class Flags: Sendable {
        let stopped = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
    }
    private let flags = Flags()

    /// Starts polling every `interval`; `onChange` gets the new certificate, or the error
    /// when the files changed but do not load (the old certificate stays in use).
    public init(provider: FileCertificateProvider, interval: Duration = .seconds(1),
                onChange: @escaping @Sendable (Result<WorkloadCertificate, IdentityError>) -> Void) {
        let thread = Thread { [flags] in
            while !flags.stopped.load(ordering: .acquiring) {
                do throws(IdentityError) {
                    if try provider.reloadIfChanged() { onChange(.success(provider.current)) }
                } catch {
                    onChange(.failure(error))
                }
                Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
            }
            flags.finished.store(true, ordering: .releasing)
        }
        thread.name = "zest-cert-files"
        thread.start()
    }

    /// Asks the thread to stop after its current poll.
    public func stop() { flags.stopped.store(true, ordering: .releasing) }

    /// Whether the thread has exited.
    public var isFinished: Bool { flags.finished.load(ordering: .acquiring) }

    deinit { stop() }
}
