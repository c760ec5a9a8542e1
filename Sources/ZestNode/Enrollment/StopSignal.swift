import Glibc
internal import CZestShims
import Synchronization

/// A one-way "stop now" flag that can also wake a thread blocked in poll(2): an eventfd
/// that becomes readable once `stop()` is called. The enrollment client and server block
/// on their socket and this descriptor together, so shutdown never waits for a timeout.
public final class StopSignal: Sendable {
    private let eventFD: Int32
    private let stopped = Atomic(false)

    public init() {
        eventFD = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
    }

    deinit { if eventFD >= 0 { _ = close(eventFD) } }

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Sets the flag and wakes every waiter (eventfd_write).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        if eventFD >= 0 { _ = eventfd_write(eventFD, 1) }
    }

    /// Descriptor to include in a poll set; readable once stopped.
    var pollDescriptor: Int32 { eventFD }

    /// Sleeps for `duration` unless stopped first. Returns false when stopped.
    @discardableResult
    public func sleep(_ duration: Duration) -> Bool {
        var fds = [pollfd(fd: eventFD, events: Int16(POLLIN), revents: 0)]
        let deadline = ContinuousClock.now + duration
        while !isStopped {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return true }
            _ = poll(&fds, 1, pollMilliseconds(left))
        }
        return false
    }
}

/// Rounds a duration up to whole milliseconds for poll(2), capped to fit an Int32.
func pollMilliseconds(_ d: Duration) -> Int32 {
    guard d > .zero else { return 0 }
    let (s, atto) = d.components
    let ms = s * 1000 + (atto + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(clamping: ms)
}
