import Dispatch
import Glibc
import Synchronization

/// N worker threads, each running its own `EventLoop` for its whole life. A connection accepted
/// on a worker stays there: nothing on the data path crosses threads or takes a lock.
public final class WorkerGroup: Sendable {
    /// One handle per worker, in worker order.
    public let handles: [EventLoopHandle]
    private let threads: Mutex<[pthread_t]>

    public var count: Int { handles.count }

    /// Starts `workers` threads (default: `CPUCount.defaultWorkerCount()`). Each creates its loop
    /// and buffer pool, runs `setup(loop)` on its own thread (bind listeners there), then runs
    /// the loop. Returns once every worker has finished `setup`; if any setup throws, every
    /// worker is stopped and joined and the first error is rethrown.
    public init(workers: Int? = nil, bufferPool: BufferPoolConfiguration = .default,
                setup: @escaping @Sendable (EventLoop) throws -> Void) throws {
        let n = max(1, workers ?? CPUCount.defaultWorkerCount())
        var handles: [EventLoopHandle] = []
        for _ in 0..<n { handles.append(try EventLoopHandle()) }
        self.handles = handles
        threads = Mutex([])
        let started = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        for (i, handle) in handles.enumerated() {
            let body: @Sendable () -> Void = {
                let loop: EventLoop
                do {
                    loop = try EventLoop(index: i, handle: handle, bufferPool: bufferPool)
                    try setup(loop)
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    started.signal()
                    return
                }
                handle.setRunning(true)
                started.signal()
                loop.run()
            }
            let thread = try WorkerGroup.spawn(body)
            threads.withLock { $0.append(thread) }
        }
        for _ in 0..<n { started.wait() }
        if let error = failure.withLock({ $0 }) {
            shutdown()
            throw error
        }
    }

    /// Asks every worker to stop (each closes all its descriptors).
    public func stop() {
        for h in handles { h.stop() }
    }

    /// Waits for every worker thread to finish (`pthread_join`).
    public func join() {
        let all = threads.withLock { t in
            let out = t
            t.removeAll()
            return out
        }
        for t in all { pthread_join(t, nil) }
    }

    /// `stop()` then `join()`.
    public func shutdown() {
        stop()
        join()
    }

    /// Runs `task` on worker `index`'s loop thread.
    public func execute(onWorker index: Int, _ task: @escaping @Sendable (EventLoop) -> Void) {
        handles[index].execute(task)
    }

    private final class ThreadBody {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a joinable thread (`pthread_create`) running `body`.
    static func spawn(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw SyscallError("pthread_create", errno: rc)
        }
        return thread
    }
}
