/// Capped exponential backoff with jitter, for reconnecting to the CNI agent. ztunnel
/// starts at 10 ms and doubles up to 15 s (ZTUNNEL-REFERENCE §5.1); so does Zest.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    /// Each delay is scaled by a random factor in 1 ± jitter (0 gives exact doubling).
    public var jitter: Double
    private var current: Duration?

    public init(initial: Duration = .milliseconds(10), maximum: Duration = .seconds(15), jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The next delay to wait: initial, then twice the previous one, never above maximum.
    public mutating func next() -> Duration {
        let base = current.map { min($0 * 2, maximum) } ?? min(initial, maximum)
        current = base
        guard jitter > 0 else { return base }
        return base * Double.random(in: (1 - jitter)...(1 + jitter))
    }

    /// Starts over from `initial`, after a connection that worked.
    public mutating func reset() { current = nil }
}
