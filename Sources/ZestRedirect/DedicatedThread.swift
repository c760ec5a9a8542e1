import Glibc
import Synchronization

/// A POSIX thread (`pthread_create`) that runs submitted closures one at a time, in order.
/// Used where work must not run on a Swift-concurrency or Dispatch thread: namespace entry
/// (`NetnsThread`) and slow netlink socket closes (`DeferredClose`).
final class DedicatedThread: Sendable {
    private let shared: Shared
    private let thread: pthread_t

    private final class Shared: Sendable {
        let jobs = Mutex<[(@Sendable () -> Void)?]>([])
        let pending = Semaphore()
        let threadID = Atomic<UInt>(0)

        func enqueue(_ job: (@Sendable () -> Void)?) {
            jobs.withLock { $0.append(job) }
            pending.signal()
        }

        /// The thread body: run jobs until a nil job arrives.
        func loop() {
            threadID.store(UInt(pthread_self()), ordering: .releasing)
            while true {
                pending.wait()
                guard let job = jobs.withLock({ $0.removeFirst() }) else { return }
                job()
            }
        }
    }

    init() throws(RedirectError) {
        let shared = Shared()
        self.shared = shared
        var tid = pthread_t()
        let context = Unmanaged.passRetained(shared).toOpaque()
        let rc = pthread_create(&tid, nil, { raw in
            let shared = Unmanaged<Shared>.fromOpaque(raw!).takeRetainedValue()
            shared.loop()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Shared>.fromOpaque(context).release()
            throw .threadStart(errno: rc)
        }
        thread = tid
    }

    /// Stops the thread after the queued work and waits for it (`pthread_join`).
    deinit {
        shared.enqueue(nil)
        pthread_join(thread, nil)
    }

    /// Whether the caller is this thread (submitting and waiting from it would deadlock).
    var isCurrent: Bool { UInt(pthread_self()) == shared.threadID.load(ordering: .acquiring) }

    /// Queues `job` and returns at once.
    func submit(_ job: @escaping @Sendable () -> Void) {
        shared.enqueue(job)
    }

    /// Runs `body` on the thread and waits for its result.
    func perform<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, any Error>) -> Result<T, any Error> {
        precondition(!isCurrent, "waiting on a DedicatedThread from itself would deadlock")
        let done = Completion<T>()
        submit { done.fulfil(body()) }
        return done.wait()
    }
}
