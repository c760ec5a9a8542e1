import Dispatch
import Synchronization
import ZestReactor

/// Holds each worker's loop-confined object so it lives as long as the group, and runs a
/// closure on it from another thread (diagnostics, drain).
final class WorkerRegistry<Worker: AnyObject>: Sendable {
    private final class Box: @unchecked Sendable {
        // Touched only on its worker's thread (or after that thread ended).
        let worker: Worker
        init(_ w: Worker) { worker = w }
    }

    private let boxes = Mutex<[Int: Box]>([:])

    /// Called on worker `index`'s thread during setup.
    func register(_ worker: Worker, index: Int) {
        boxes.withLock { $0[index] = Box(worker) }
    }

    /// Runs `body` on each running worker's thread and waits (bounded) for it.
    func onEachWorker(_ group: WorkerGroup, _ body: @escaping @Sendable (Worker) -> Void) {
        for i in 0..<group.count {
            guard let box = boxes.withLock({ $0[i] }), group.handles[i].isRunning else { continue }
            let done = DispatchSemaphore(value: 0)
            group.execute(onWorker: i) { _ in
                body(box.worker)
                done.signal()
            }
            _ = done.wait(timeout: .now() + 5)
        }
    }
}
