import Foundation
import Synchronization
import ZestCore

/// The wall clock, injectable so renewal and backoff can be tested without waiting.
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The system's real-time clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// Capped exponential backoff between failed fetches (ztunnel: 1 s doubling to 150 s).
public struct BackoffPolicy: Sendable, Equatable {
    public var initial: TimeInterval
    public var multiplier: Double
    public var maximum: TimeInterval

    public init(initial: TimeInterval = 1, multiplier: Double = 2, maximum: TimeInterval = 150) {
        self.initial = initial
        self.multiplier = multiplier
        self.maximum = maximum
    }

    /// The wait after `failures` consecutive failures (1 → initial).
    public func delay(afterFailures failures: Int) -> TimeInterval {
        guard failures > 0 else { return 0 }
        var d = initial
        for _ in 1..<failures where d < maximum { d *= multiplier }
        return min(d, maximum)
    }
}

/// The state of one identity's certificate, as the admin config dump shows it.
public enum CertificateStatus: Sendable, Equatable {
    case initializing
    case available(notAfter: Date, renewAt: Date)
    /// No valid certificate; the last fetch failed and the next try is at `retryAt`.
    case unavailable(reason: String, retryAt: Date)
}

/// Keeps one certificate per distinct workload identity on the node: fetched on demand or
/// ahead of time (prefetch), renewed at half-life, retried with capped exponential backoff,
/// and an old certificate keeps serving until it expires when renewal fails. The control
/// thread calls `refresh()` (or runs `RenewalLoop`); data-plane workers never fetch.
public final class CertificateManager: Sendable {
    private struct Entry {
        var current: WorkloadCertificate?
        var nextAttempt: Date
        var failures = 0
        var lastError: IdentityError?
    }

    public let provider: any CertificateProvider
    public let clock: any WallClock
    public let backoff: BackoffPolicy
    private let entries = Mutex<[SpiffeID: Entry]>([:])
    private let onUpdate: (@Sendable (SpiffeID, WorkloadCertificate) -> Void)?

    /// `onUpdate` runs after every successful (re)fetch, e.g. to rotate TLS contexts.
    public init(provider: any CertificateProvider, clock: any WallClock = SystemClock(),
                backoff: BackoffPolicy = BackoffPolicy(),
                onUpdate: (@Sendable (SpiffeID, WorkloadCertificate) -> Void)? = nil) {
        self.provider = provider
        self.clock = clock
        self.backoff = backoff
        self.onUpdate = onUpdate
    }

    /// Returns a valid certificate for `identity`, fetching it now when none is held.
    /// While backing off after failures it throws the last error instead of hammering the CA.
    public func certificate(for identity: SpiffeID) throws(IdentityError) -> WorkloadCertificate {
        let now = clock.now()
        let held: Result<WorkloadCertificate, IdentityError>? = entries.withLock { all in
            var e = all[identity] ?? Entry(nextAttempt: now)
            defer { all[identity] = e }
            if let c = e.current {
                if c.isValid(at: now) { return .success(c) }
                e.current = nil
            }
            if e.failures > 0, now < e.nextAttempt, let error = e.lastError {
                return .failure(.noCertificate(identity: identity.uri, reason: "\(error); retrying at \(e.nextAttempt)"))
            }
            return nil
        }
        if let held { return try held.get() }
        return try fetch(identity, now: now).get()
    }

    /// Registers `identity` so the next `refresh()` fetches it ahead of first use.
    public func prefetch(_ identity: SpiffeID) {
        let now = clock.now()
        entries.withLock { all in
            if all[identity] == nil { all[identity] = Entry(nextAttempt: now) }
        }
    }

    /// Drops `identity` (its last workload left the node).
    public func forget(_ identity: SpiffeID) { _ = entries.withLock { $0.removeValue(forKey: identity) } }

    /// Identities currently tracked.
    public var identities: [SpiffeID] { entries.withLock { Array($0.keys) } }

    /// Fetches every identity that is due (new, at half-life, or past its backoff) and
    /// returns when the next one will be due, or nil when nothing is tracked.
    @discardableResult
    public func refresh() -> Date? {
        let now = clock.now()
        let due = entries.withLock { all in all.filter { $0.value.nextAttempt <= now }.map(\.key) }
        for id in due { _ = fetch(id, now: now) }
        return entries.withLock { all in all.values.map(\.nextAttempt).min() }
    }

    public func status(of identity: SpiffeID) -> CertificateStatus {
        let now = clock.now()
        return entries.withLock { all in
            guard let e = all[identity] else { return .initializing }
            if let c = e.current, c.isValid(at: now) { return .available(notAfter: c.notAfter, renewAt: c.renewalTime) }
            if let error = e.lastError { return .unavailable(reason: error.description, retryAt: e.nextAttempt) }
            return .initializing
        }
    }

    private func fetch(_ identity: SpiffeID, now: Date) -> Result<WorkloadCertificate, IdentityError> {
        let result: Result<WorkloadCertificate, IdentityError>
        do throws(IdentityError) {
            let c = try provider.fetchCertificate(for: identity, now: now)
            guard c.identity == identity else { throw .identityMismatch(requested: identity.uri, got: c.identity.uri) }
            guard c.isValid(at: now) else {
                throw .noCertificate(identity: identity.uri, reason: "the provider returned a certificate valid only \(c.notBefore)–\(c.notAfter)")
            }
            result = .success(c)
        } catch {
            result = .failure(error)
        }
        let served: Result<WorkloadCertificate, IdentityError> = entries.withLock { all in
            var e = all[identity] ?? Entry(nextAttempt: now)
            defer { all[identity] = e }
            switch result {
            case .success(let c):
                e.current = c
                e.failures = 0
                e.lastError = nil
                e.nextAttempt = c.renewalTime
                return .success(c)
            case .failure(let error):
                e.failures += 1
                e.lastError = error
                e.nextAttempt = now.addingTimeInterval(backoff.delay(afterFailures: e.failures))
                if let c = e.current, !c.isValid(at: now) { e.current = nil }
                if let c = e.current {
                    // Renewal failed: retry on backoff, but never later than expiry.
                    e.nextAttempt = min(e.nextAttempt, c.notAfter)
                    return .success(c)
                }
                return .failure(error)
            }
        }
        if case .success(let c) = result { onUpdate?(identity, c) }
        return served
    }
}
