import ZestReactor
import ZestTelemetry

/// Copies one worker's buffer-pool figures into the metrics registry once a second, on the
/// worker's own thread (the pool's counters are plain integers only that thread may read):
/// `buffer_pool_in_use_buffers` and `buffer_pool_exhausted_total`.
final class BufferPoolSampler: TimerHandler {
    private let loop: EventLoop
    private let counters: BufferPoolCounters
    private var reportedExhaustions = 0

    /// Registers the worker's pool and starts sampling; the loop's timer keeps it alive.
    static func start(on loop: EventLoop, metrics: BufferPoolMetrics) {
        let stats = loop.bufferPool.stats
        let sampler = BufferPoolSampler(loop: loop, counters: metrics.register(
            worker: loop.index, capacity: stats.slotCount, bufferSize: loop.bufferPool.payloadCapacity))
        _ = loop.schedule(after: .seconds(1), sampler)
    }

    private init(loop: EventLoop, counters: BufferPoolCounters) {
        self.loop = loop
        self.counters = counters
    }

    func timerFired(_ timer: TimerID) {
        let stats = loop.bufferPool.stats
        counters.setInUse(stats.inUse)
        while reportedExhaustions < stats.exhaustionEvents {
            counters.exhausted()
            reportedExhaustions += 1
        }
        if !loop.isStopped { _ = loop.schedule(after: .seconds(1), self) }
    }
}
