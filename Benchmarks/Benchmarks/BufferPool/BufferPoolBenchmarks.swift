import Benchmark
import ZestReactor

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
                                           maxDuration: .seconds(3))

    // One take and one release, as a connection does per chunk in flight.
    Benchmark("BufferPool take+release", configuration: .init(scalingFactor: .mega)) { benchmark in
        let pool = BufferPool(.default)
        for _ in benchmark.scaledIterations {
            let slot = pool.take()!
            blackHole(pool.payload(slot))
            pool.release(slot)
        }
    }

    // Many slots out at once (a busy worker), then all back.
    Benchmark("BufferPool take 1024 then release 1024", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let pool = BufferPool(.default)
        var held: [BufferPool.Slot] = []
        held.reserveCapacity(1024)
        for _ in benchmark.scaledIterations {
            for _ in 0..<1024 { held.append(pool.take()!) }
            for s in held { pool.release(s) }
            held.removeAll(keepingCapacity: true)
        }
    }
}
