import Glibc

/// Polls `condition` until it holds or `timeout` passes. Returns whether it held.
/// Tests wait on a condition with a bound; they never sleep and hope.
@discardableResult
public func waitUntil(timeout: Duration, poll: Duration = .milliseconds(5),
                      _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try condition() { return true }
        if clock.now >= deadline { return false }
        let (s, a) = poll.components
        var ts = timespec(tv_sec: Int(s), tv_nsec: Int(a / 1_000_000_000))
        nanosleep(&ts, nil)
    }
}
