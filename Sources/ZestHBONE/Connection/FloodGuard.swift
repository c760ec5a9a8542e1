/// Per-connection budgets for control frames a peer can send for free (RST_STREAM, SETTINGS,
/// PING). Each kind is a token bucket: `burst` frames at once, refilled at `perSecond`.
public struct FloodLimits: Sendable {
    public var burst: Double = 500
    public var perSecond: Double = 100
    public init() {}
    public init(burst: Double, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
    }
}

/// Counts control frames against `FloodLimits` (a pure state machine; time is passed in).
/// nghttp2 1.52 (Debian) bounds queued ACKs and rate-limits RST_STREAM on servers itself;
/// this guard covers both roles and SETTINGS/PING floods that are answered as fast as they come.
struct FloodGuard {
    enum Kind: CaseIterable { case resetStream, settings, ping }

    private var tokens: [Double]
    private var last: ContinuousClock.Instant
    let limits: FloodLimits

    init(limits: FloodLimits, now: ContinuousClock.Instant) {
        self.limits = limits
        tokens = Array(repeating: limits.burst, count: Kind.allCases.count)
        last = now
    }

    /// Charges one frame of `kind`; returns false once its budget is exhausted.
    mutating func admit(_ kind: Kind, now: ContinuousClock.Instant) -> Bool {
        let elapsed = now - last
        if elapsed > .zero {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            for i in tokens.indices { tokens[i] = min(limits.burst, tokens[i] + seconds * limits.perSecond) }
            last = now
        }
        let i = Kind.allCases.firstIndex(of: kind)!
        guard tokens[i] >= 1 else { return false }
        tokens[i] -= 1
        return true
    }
}
