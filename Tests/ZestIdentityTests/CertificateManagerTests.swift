import Foundation
import Synchronization
import Testing
import ZestCore
@testable import ZestIdentity

/// A clock the test moves by hand.
final class ManualClock: WallClock {
    private let current: Mutex<Date>
    init(_ start: Date = Date()) { current = Mutex(start) }
    func now() -> Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    func set(_ date: Date) { current.withLock { $0 = date } }
}

/// The embedded CA behind a switch the test can turn off, counting fetches.
final class SwitchableCA: CertificateProvider {
    let ca: EmbeddedCA
    private let state = Mutex((failing: false, fetches: 0))
    init(lifetime: Duration) throws {
        let (root, key) = try CertificateAuthority.generateRoot(trustDomain: "cluster.local", now: Date().addingTimeInterval(-86400))
        ca = EmbeddedCA(authority: try CertificateAuthority(signingCertificate: root, signingKey: key, intermediates: [],
                                                             roots: [root], trustDomain: "cluster.local", source: "test"),
                        leafLifetime: lifetime)
    }
    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }
    var fetches: Int { state.withLock { $0.fetches } }
    func fetchCertificate(for identity: SpiffeID, now: Date) throws(IdentityError) -> WorkloadCertificate {
        let failing = state.withLock { s in s.fetches += 1; return s.failing }
        if failing { throw .openSSL(operation: "test CA", detail: "switched off") }
        return try ca.fetchCertificate(for: identity, now: now)
    }
}

@Suite struct CertificateManagerTests {
    static let id = SpiffeID("spiffe://cluster.local/ns/demo/sa/web")!
    static let other = SpiffeID("spiffe://cluster.local/ns/demo/sa/db")!

    @Test func backoffDoublesAndIsCapped() {
        let b = BackoffPolicy(initial: 1, multiplier: 2, maximum: 150)
        #expect((1...10).map { b.delay(afterFailures: $0) } == [1, 2, 4, 8, 16, 32, 64, 128, 150, 150])
    }

    @Test func onDemandFetchIsCachedPerIdentity() throws {
        let provider = try SwitchableCA(lifetime: .seconds(3600))
        let manager = CertificateManager(provider: provider, clock: ManualClock())
        let a = try manager.certificate(for: Self.id)
        let b = try manager.certificate(for: Self.id)
        #expect(a.leaf.isSameCertificate(as: b.leaf))
        let c = try manager.certificate(for: Self.other)
        #expect(c.identity == Self.other)
        #expect(provider.fetches == 2, "one fetch per distinct identity")
    }

    @Test func prefetchFetchesAheadOfFirstUse() throws {
        let provider = try SwitchableCA(lifetime: .seconds(3600))
        let clock = ManualClock()
        let manager = CertificateManager(provider: provider, clock: clock)
        manager.prefetch(Self.id)
        #expect(manager.status(of: Self.id) == .initializing)
        let next = manager.refresh()
        #expect(provider.fetches == 1)
        guard case .available(let notAfter, let renewAt) = manager.status(of: Self.id) else {
            Issue.record("not available after prefetch"); return
        }
        #expect(next == renewAt)
        #expect(abs(renewAt.timeIntervalSince(clock.now()) - 1800) < 65, "renewal at half of a 1 h lifetime")
        #expect(notAfter > renewAt)
        _ = try manager.certificate(for: Self.id)
        #expect(provider.fetches == 1, "first use is served from the prefetch")
    }

    @Test func renewsAtHalfLifeAndReportsTheUpdate() throws {
        let provider = try SwitchableCA(lifetime: .seconds(3600))
        let clock = ManualClock()
        let updates = Mutex(0)
        let manager = CertificateManager(provider: provider, clock: clock) { _, _ in updates.withLock { $0 += 1 } }
        let first = try manager.certificate(for: Self.id)
        clock.advance(1700)
        manager.refresh()
        #expect(provider.fetches == 1, "no renewal before half-life")
        clock.advance(200)
        manager.refresh()
        #expect(provider.fetches == 2)
        let second = try manager.certificate(for: Self.id)
        #expect(second.leaf.serialNumberHex != first.leaf.serialNumberHex)
        #expect(updates.withLock { $0 } == 2)
    }

    @Test func failedRenewalBacksOffAndKeepsServingTheOldCertificateUntilExpiry() throws {
        let provider = try SwitchableCA(lifetime: .seconds(3600))
        let clock = ManualClock()
        let manager = CertificateManager(provider: provider, clock: clock, backoff: BackoffPolicy(initial: 1, multiplier: 2, maximum: 150))
        let first = try manager.certificate(for: Self.id)
        provider.failing = true
        clock.set(first.renewalTime)
        var next = manager.refresh()
        #expect(provider.fetches == 2)
        #expect(next == first.renewalTime.addingTimeInterval(1))
        #expect(try manager.certificate(for: Self.id).leaf.isSameCertificate(as: first.leaf), "old certificate still serves")
        // Each retry waits twice as long, up to the cap.
        var waits: [TimeInterval] = []
        for _ in 0..<9 {
            clock.set(next!)
            let before = clock.now()
            next = manager.refresh()
            waits.append(next!.timeIntervalSince(before))
        }
        #expect(waits == [2, 4, 8, 16, 32, 64, 128, 150, 150])
        #expect(try manager.certificate(for: Self.id).leaf.isSameCertificate(as: first.leaf))

        // Past expiry the old certificate is gone and on-demand use reports why.
        clock.set(first.notAfter.addingTimeInterval(1))
        manager.refresh()
        do {
            _ = try manager.certificate(for: Self.id)
            Issue.record("an expired certificate was served")
        } catch {
            #expect(error.description.contains("switched off"))
        }
        guard case .unavailable(let reason, _) = manager.status(of: Self.id) else {
            Issue.record("status should be unavailable"); return
        }
        #expect(reason.contains("switched off"))

        // Recovery: the next due retry succeeds.
        provider.failing = false
        clock.advance(200)
        manager.refresh()
        let recovered = try manager.certificate(for: Self.id)
        #expect(recovered.isValid(at: clock.now()))
        #expect(!recovered.leaf.isSameCertificate(as: first.leaf))
    }

    @Test func onDemandFetchDuringBackoffDoesNotHammerTheProvider() throws {
        let provider = try SwitchableCA(lifetime: .seconds(3600))
        provider.failing = true
        let manager = CertificateManager(provider: provider, clock: ManualClock())
        #expect(throws: IdentityError.self) { try manager.certificate(for: Self.id) }
        #expect(throws: IdentityError.self) { try manager.certificate(for: Self.id) }
        #expect(provider.fetches == 1)
    }

    @Test func forgetDropsTheIdentity() throws {
        let provider = try SwitchableCA(lifetime: .seconds(3600))
        let manager = CertificateManager(provider: provider, clock: ManualClock())
        _ = try manager.certificate(for: Self.id)
        manager.forget(Self.id)
        #expect(manager.identities.isEmpty)
        #expect(manager.refresh() == nil)
    }
}
