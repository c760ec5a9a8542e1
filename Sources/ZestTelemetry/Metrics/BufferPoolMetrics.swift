import Synchronization

/// Per-worker buffer-pool gauges and counters:
/// `buffer_pool_capacity_buffers{worker}`, `buffer_pool_in_use_buffers{worker}`,
/// `buffer_pool_buffer_size_bytes{worker}` (gauges) and `buffer_pool_exhausted_total{worker}`
/// (how often a take found the pool empty and the connection had to wait: back-pressure).
public final class BufferPoolMetrics: MetricsCollector {
    private let pools = Mutex<[BufferPoolSlot]>([])

    public init() {}

    /// Registers the pool of one worker. Call on that worker's thread; the returned
    /// counters belong to it.
    public func register(worker: Int, capacity: Int, bufferSize: Int) -> BufferPoolCounters {
        let slot = BufferPoolSlot(worker: worker, capacity: capacity, bufferSize: bufferSize)
        pools.withLock { $0.append(slot) }
        return BufferPoolCounters(slot: slot)
    }

    /// Buffers in use, summed over workers.
    public var inUse: UInt64 {
        pools.withLock { $0 }.reduce(0) { $0 &+ $1.inUse.load(ordering: .relaxed) }
    }

    public func collect(into w: inout PrometheusWriter) {
        let slots = pools.withLock { $0 }.sorted { $0.worker < $1.worker }
        let families: [(String, String, PrometheusWriter.MetricType, (BufferPoolSlot) -> UInt64)] = [
            ("buffer_pool_capacity_buffers", "Buffers in the worker's pool", .gauge, { UInt64($0.capacity) }),
            ("buffer_pool_in_use_buffers", "Buffers holding bytes in flight", .gauge, { $0.inUse.load(ordering: .relaxed) }),
            ("buffer_pool_buffer_size_bytes", "Size of one pool buffer", .gauge, { UInt64($0.bufferSize) }),
            ("buffer_pool_exhausted_total", "Takes that found the pool empty (back-pressure)", .counter,
             { $0.exhausted.load(ordering: .relaxed) }),
        ]
        for (name, help, type, value) in families {
            w.family(name, help: help, type: type)
            for s in slots { w.sample(name, labels: [("worker", String(s.worker))], value(s)) }
        }
    }
}

final class BufferPoolSlot: Sendable {
    let worker: Int
    let capacity: Int
    let bufferSize: Int
    let inUse = Atomic<UInt64>(0)
    let exhausted = Atomic<UInt64>(0)

    init(worker: Int, capacity: Int, bufferSize: Int) {
        self.worker = worker
        self.capacity = capacity
        self.bufferSize = bufferSize
    }
}

/// A worker's handle on its pool's metrics: single-writer relaxed stores, no lock.
public struct BufferPoolCounters {
    let slot: BufferPoolSlot

    /// Records the number of buffers currently taken.
    public func setInUse(_ n: Int) {
        slot.inUse.store(UInt64(max(0, n)), ordering: .relaxed)
    }

    /// Counts one take that found the pool empty.
    public func exhausted() {
        bumpSingleWriter(slot.exhausted, by: 1)
    }
}
