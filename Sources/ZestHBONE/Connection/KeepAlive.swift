/// The PING keepalive of one connection as a pure state machine: the owner calls `tick` on
/// its timer and acts on the answer, so tests drive time directly.
/// First PING after `interval`, then one per `interval` after each answer; a PING unanswered
/// for `timeout` ends the connection (ztunnel's `do_ping_pong`).
struct KeepAlive {
    enum Action: Equatable { case none, sendPing(UInt64), timedOut }

    let interval: Duration
    let timeout: Duration
    private(set) var nextPing: ContinuousClock.Instant
    private(set) var outstanding: (payload: UInt64, deadline: ContinuousClock.Instant)?
    private var counter: UInt64 = 0

    init(interval: Duration, timeout: Duration, now: ContinuousClock.Instant) {
        self.interval = interval
        self.timeout = timeout
        nextPing = now + interval
    }

    mutating func tick(now: ContinuousClock.Instant) -> Action {
        if let outstanding {
            return now >= outstanding.deadline ? .timedOut : .none
        }
        guard now >= nextPing else { return .none }
        counter += 1
        outstanding = (counter, now + timeout)
        return .sendPing(counter)
    }

    /// A PING ACK arrived; returns whether it answered our outstanding PING.
    @discardableResult
    mutating func acknowledged(_ payload: UInt64, now: ContinuousClock.Instant) -> Bool {
        guard let outstanding, outstanding.payload == payload else { return false }
        self.outstanding = nil
        nextPing = now + interval
        return true
    }

    /// When the owner's timer should next call `tick`.
    var nextDeadline: ContinuousClock.Instant { outstanding?.deadline ?? nextPing }
}
