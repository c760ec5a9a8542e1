import Glibc
import Synchronization

/// A counting semaphore over POSIX `sem_t` (`sem_init`/`sem_wait`/`sem_post`), used to
/// hand work to a namespace thread and results back without Dispatch.
final class Semaphore: @unchecked Sendable {
    // sem_t is only touched through sem_* calls, which are thread-safe.
    private let sem: UnsafeMutablePointer<sem_t>

    init(_ value: UInt32 = 0) {
        sem = .allocate(capacity: 1)
        sem_init(sem, 0, value)
    }

    deinit {
        sem_destroy(sem)
        sem.deallocate()
    }

    func signal() { sem_post(sem) }

    func wait() {
        while sem_wait(sem) != 0 && errno == EINTR {}
    }
}

/// A one-shot result slot filled by the namespace thread and read by the caller.
final class Completion<T: Sendable>: Sendable {
    private let slot = Mutex<Result<T, any Error>?>(nil)
    private let ready = Semaphore()

    func fulfil(_ result: Result<T, any Error>) {
        slot.withLock { $0 = result }
        ready.signal()
    }

    func wait() -> Result<T, any Error> {
        ready.wait()
        return slot.withLock { $0! }
    }
}
