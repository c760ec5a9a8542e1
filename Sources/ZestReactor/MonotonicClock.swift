import Glibc

/// Nanoseconds on `CLOCK_MONOTONIC` (`clock_gettime(2)`): the clock timers run on.
public enum MonotonicClock {
    @inline(__always)
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// A duration in whole nanoseconds (negative durations count as zero).
    public static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, a) = d.components
        guard s >= 0 else { return 0 }
        return UInt64(s) * 1_000_000_000 + UInt64(max(0, a) / 1_000_000_000)
    }
}
