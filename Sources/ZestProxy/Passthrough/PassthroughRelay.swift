import Dispatch
import Synchronization
import ZestCore
import ZestReactor

/// A plain TCP relay: accept on `listen`, connect to `upstream`, copy both ways. One listener
/// per worker on the same port (`SO_REUSEPORT`); each connection stays on the worker that
/// accepted it. This is the path Zest uses for destinations outside the mesh.
public final class PassthroughRelay: Sendable {
    /// The bound address (the real port when configured with port 0).
    public let listenAddress: SocketAddress
    public let configuration: RelayConfiguration
    private let group: WorkerGroup
    private let registry = Registry()

    private final class WorkerBox: @unchecked Sendable {
        // Touched only on its worker's thread (or after that thread ended).
        let worker: RelayWorker
        init(_ w: RelayWorker) { worker = w }
    }

    /// Which workers exist, filled in by each worker thread during start-up.
    private final class Registry: Sendable {
        let workers = Mutex<[Int: WorkerBox]>([:])
        let adopted = Mutex(Set<Int>())
    }

    /// Binds the listeners and starts the workers.
    public init(_ configuration: RelayConfiguration) throws {
        let count = configuration.workers ?? CPUCount.defaultWorkerCount()
        let (fds, bound) = try ListeningSocket.bindGroup(configuration.listen, count: count)
        listenAddress = bound
        self.configuration = configuration
        let registry = self.registry
        do {
            group = try WorkerGroup(workers: count, bufferPool: configuration.bufferPool) { loop in
                registry.adopted.withLock { _ = $0.insert(loop.index) }
                let listener = ListeningSocket(adopting: fds[loop.index])
                let worker = try RelayWorker(loop: loop, listener: listener, configuration: configuration)
                registry.workers.withLock { $0[loop.index] = WorkerBox(worker) }
            }
        } catch {
            let taken = registry.adopted.withLock { $0 }
            for (i, fd) in fds.enumerated() where !taken.contains(i) { ListeningSocket(adopting: fd).close() }
            throw error
        }
    }

    /// Counters summed over workers, collected on each worker's thread. Returns the last
    /// figures once the relay has stopped.
    public func stats() -> RelayStats {
        var total = RelayStats()
        for i in 0..<group.count {
            guard let box = registry.workers.withLock({ $0[i] }) else { continue }
            if group.handles[i].isRunning {
                let done = DispatchSemaphore(value: 0)
                let result = Mutex(RelayStats())
                group.execute(onWorker: i) { _ in
                    result.withLock { $0 = box.worker.snapshot }
                    done.signal()
                }
                if done.wait(timeout: .now() + 5) == .success {
                    total.add(result.withLock { $0 })
                    continue
                }
                // A task is dropped only when the loop stopped; past that its thread is done with it.
                guard !group.handles[i].isRunning else { continue }
            }
            total.add(box.worker.snapshot)
        }
        return total
    }

    /// Descriptors registered on the workers' loops right now (diagnostics and tests).
    public func registeredDescriptors() -> [FileDescriptor] {
        var all: [FileDescriptor] = []
        for i in 0..<group.count {
            let done = DispatchSemaphore(value: 0)
            let result = Mutex([FileDescriptor]())
            group.execute(onWorker: i) { loop in
                result.withLock { $0 = loop.registeredDescriptors }
                done.signal()
            }
            if done.wait(timeout: .now() + 5) == .success { all += result.withLock { $0 } }
        }
        return all
    }

    /// Stops every worker: open connections are reset, listeners and all descriptors closed.
    public func shutdown() {
        group.shutdown()
    }

    /// Blocks until the workers end (after `shutdown()` from elsewhere, e.g. a signal handler thread).
    public func wait() {
        group.join()
    }
}
