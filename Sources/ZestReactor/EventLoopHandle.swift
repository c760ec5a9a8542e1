import CZestShims
import Glibc
import Synchronization

/// The thread-safe face of one event loop: wake it, stop it, or hand it a task from another
/// thread (the control thread: new listeners, config snapshots). Never used on the data path.
///
/// It owns the loop's eventfd and closes it only when the last reference goes, so a late
/// `wake()` from another thread can never hit a reused descriptor number.
public final class EventLoopHandle: Sendable {
    let wakeDescriptor: Int32
    private let stopRequested = Atomic<Bool>(false)
    private let pending = Mutex<[@Sendable (EventLoop) -> Void]>([])
    private let running = Atomic<Bool>(false)

    /// Creates the eventfd (`eventfd(2)`, nonblocking, close-on-exec).
    public init() throws(SyscallError) {
        wakeDescriptor = try checkedSyscall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
    }

    deinit { Posix.close(wakeDescriptor) }

    /// Wakes the loop out of `epoll_wait` (`write(2)` to the eventfd).
    public func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeDescriptor, &one, 8)
    }

    /// Asks the loop to stop; it closes every descriptor its handlers own and returns from `run()`.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Whether `stop()` was called.
    public var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// Whether the loop is inside `run()`.
    public var isRunning: Bool { running.load(ordering: .acquiring) }

    /// Runs `task` on the loop's thread at its next wake-up. Tasks submitted after the loop
    /// stopped are dropped (their captured values are released).
    public func execute(_ task: @escaping @Sendable (EventLoop) -> Void) {
        pending.withLock { $0.append(task) }
        wake()
    }

    func setRunning(_ value: Bool) { running.store(value, ordering: .releasing) }

    /// Takes the queued tasks; called by the loop.
    func takeTasks() -> [@Sendable (EventLoop) -> Void] {
        pending.withLock { tasks in
            if tasks.isEmpty { return [] }
            let out = tasks
            tasks.removeAll()
            return out
        }
    }

    /// Clears the eventfd counter after a wake-up.
    func drainWakeups() {
        var value: UInt64 = 0
        _ = Glibc.read(wakeDescriptor, &value, 8)
    }
}
