import Synchronization
import ZestIdentity

/// The current context for one listener or client identity. Rotation builds a new context
/// and swaps it in: new handshakes use it, open connections keep the context they started
/// with (each `TLSConnection` holds its own reference). Readers take the lock only to copy
/// one reference.
public final class TLSContextHolder: Sendable {
    private let current: Mutex<TLSContext>
    /// Counters shared by every context this holder has held.
    public let counters: TLSCounters

    public init(_ context: TLSContext) {
        current = Mutex(context)
        counters = context.counters
    }

    /// Builds the first context for `certificate`.
    public convenience init(role: TLSRole, certificate: WorkloadCertificate,
                            settings: TLSSettings = TLSSettings(),
                            counters: TLSCounters = TLSCounters()) throws(TLSError) {
        self.init(try TLSContext(role: role, certificate: certificate, settings: settings, counters: counters))
    }

    /// The context new connections should use.
    public var context: TLSContext { current.withLock { $0 } }

    /// Swaps in `context` for new handshakes.
    public func replace(with context: TLSContext) { current.withLock { $0 = context } }

    /// Builds a context for a renewed certificate with the same role, settings and counters,
    /// and swaps it in. On error the old context stays.
    public func rotate(to certificate: WorkloadCertificate) throws(TLSError) {
        let old = context
        let next = try TLSContext(role: old.role, certificate: certificate, settings: old.settings, counters: counters)
        replace(with: next)
    }
}
