import Testing
@testable import ZestHBONE

/// The client pool's rules as a table-free state machine walk-through: reuse, one dial per key,
/// waiters, capacity, GOAWAY and idle release (ZTUNNEL-REFERENCE.md §3.6).
@Suite struct PoolBookTests {
    final class Conn: PoolMember {
        var hasCapacity = true
        var isIdle = true
        let name: String
        init(_ name: String) { self.name = name }
    }

    typealias Book = PoolBook<String, Conn, Int>
    let t0 = ContinuousClock.now

    @Test func oneDialPerKeyWhileLaterCallersWait() {
        var book = Book()
        guard case .dial = book.checkout("k", 1, now: t0) else { Issue.record("first caller dials"); return }
        guard case .wait = book.checkout("k", 2, now: t0) else { Issue.record("second caller waits"); return }
        guard case .dial = book.checkout("other", 3, now: t0) else { Issue.record("another key dials on its own"); return }
        let c = Conn("c")
        #expect(book.dialSucceeded("k", c, now: t0) == [1, 2], "the dialer and the waiter are served, in order")
        guard case .use(let got) = book.checkout("k", 4, now: t0) else { Issue.record("now reused"); return }
        #expect(got === c)
        #expect(book.dialing == ["other"])
    }

    @Test func failedDialFailsItsWaitersAndTheNextCallerDialsAgain() {
        var book = Book()
        _ = book.checkout("k", 1, now: t0)
        _ = book.checkout("k", 2, now: t0)
        #expect(book.dialFailed("k") == [1, 2])
        guard case .dial = book.checkout("k", 3, now: t0) else { Issue.record("dials again"); return }
    }

    @Test func fullConnectionMakesTheNextCallerDialASecondOne() {
        var book = Book()
        _ = book.checkout("k", 1, now: t0)
        let first = Conn("first")
        _ = book.dialSucceeded("k", first, now: t0)
        first.hasCapacity = false
        guard case .dial = book.checkout("k", 2, now: t0) else { Issue.record("a full connection is not used"); return }
        let second = Conn("second")
        _ = book.dialSucceeded("k", second, now: t0)
        guard case .use(let got) = book.checkout("k", 3, now: t0) else { Issue.record("uses the one with room"); return }
        #expect(got === second)
        #expect(book.memberCount == 2)
    }

    @Test func goAwayOrCloseRemovesTheConnectionFromThePool() {
        var book = Book()
        _ = book.checkout("k", 1, now: t0)
        let c = Conn("c")
        _ = book.dialSucceeded("k", c, now: t0)
        book.remove(c)
        #expect(book.memberCount == 0)
        guard case .dial = book.checkout("k", 2, now: t0) else { Issue.record("dials a fresh connection"); return }
    }

    @Test func idleConnectionsAreReleasedAfterFiveMinutesUnused() {
        var book = Book()
        _ = book.checkout("k", 1, now: t0)
        let busy = Conn("busy"), idle = Conn("idle")
        _ = book.dialSucceeded("k", busy, now: t0)
        busy.isIdle = false
        busy.hasCapacity = false
        _ = book.checkout("k", 2, now: t0)
        _ = book.dialSucceeded("k", idle, now: t0 + .seconds(60))
        #expect(book.expireIdle(now: t0 + .seconds(299)).isEmpty)
        #expect(book.expireIdle(now: t0 + .seconds(359)).isEmpty, "checked out at 60 s: idle only since then")
        let expired = book.expireIdle(now: t0 + .seconds(360))
        #expect(expired.map(\.name) == ["idle"])
        #expect(book.memberCount == 1, "a connection with open tunnels is never released")
    }
}
