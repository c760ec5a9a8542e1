internal import CZestShims
import Glibc
import Synchronization

/// A dedicated POSIX thread that runs closures inside other network namespaces.
///
/// `setns(2)` moves only the calling thread, so it must never run on a Swift-concurrency
/// or Dispatch thread: such a thread would stay in the pod's namespace and later run
/// unrelated work there. This thread exists only for namespace work. For each closure it
/// enters the target namespace, runs the closure, and returns to the namespace it started
/// in, so it never pins a pod namespace after the pod is gone. Sockets created inside the
/// closure stay in the pod namespace and may be used from any thread afterwards.
///
/// Calls are serialised; callers block until their closure has run.
public final class NetnsThread: Sendable {
    private let shared: Shared
    private let thread: pthread_t

    /// Work queue shared between callers and the thread.
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

    /// The agent's own namespace as seen when this thread started; the thread returns to it
    /// after every closure.
    private let home: NetNamespace

    /// Starts the thread (`pthread_create`). The thread starts in the caller's namespace.
    public init() throws(RedirectError) {
        home = try NetNamespace.current()
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

    deinit {
        shared.enqueue(nil)
        pthread_join(thread, nil)
    }

    /// Runs `body` inside `namespace` on this thread and returns its result.
    /// Throws `RedirectError.enterNamespace` when `setns` refuses, or what `body` throws.
    public func run<T: Sendable>(in namespace: NetNamespace,
                                 _ body: @escaping @Sendable () throws -> T) throws -> T {
        precondition(UInt(pthread_self()) != shared.threadID.load(ordering: .acquiring),
                     "NetnsThread.run called from its own thread would deadlock")
        let done = Completion<T>()
        let home = self.home
        shared.enqueue {
            guard zest_setns(namespace.fd, zest_const_CLONE_NEWNET()) == 0 else {
                done.fulfil(.failure(RedirectError.enterNamespace(namespace.label, errno: errno)))
                return
            }
            let result = Result { try body() }
            if zest_setns(home.fd, zest_const_CLONE_NEWNET()) != 0 {
                // The thread could not leave the pod namespace: the next job enters its own
                // target anyway, so only this result reports the problem.
                done.fulfil(.failure(RedirectError.enterNamespace("the agent's own namespace", errno: errno)))
                return
            }
            done.fulfil(result)
        }
        return try done.wait().get()
    }
}
