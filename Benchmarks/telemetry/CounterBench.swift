// Cost of one hot-path count: a worker's traffic shard against an atomic RMW and a mutex,
// all single-threaded and uncontended, medians of 5 runs. Run: bash Benchmarks/telemetry/run.sh
import Synchronization
import Glibc

@main struct Bench {
    static func now() -> UInt64 { var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts); return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec) }

    static func main() {
        let n = 50_000_000
        let metrics = TrafficMetrics()
        let shard = metrics.makeShard()
        var l = TrafficLabels(reporter: .destination)
        l.destinationWorkload = "payments-api"
        let c = shard.connection(l)
        let atomic = Atomic<UInt64>(0)
        let mutex = Mutex<UInt64>(0)
        var results: [String: [Double]] = [:]
        for _ in 0..<5 {
            var t = now()
            for i in 0..<n { c.received(i & 0xff) }
            results["shard (single-writer relaxed store)", default: []].append(Double(now() - t) / Double(n))
            t = now()
            for i in 0..<n { atomic.wrappingAdd(UInt64(i & 0xff), ordering: .relaxed) }
            results["Atomic.wrappingAdd (lock xadd)", default: []].append(Double(now() - t) / Double(n))
            t = now()
            for i in 0..<n { mutex.withLock { $0 &+= UInt64(i & 0xff) } }
            results["Mutex-protected counter", default: []].append(Double(now() - t) / Double(n))
        }
        let base = results["Mutex-protected counter"]!.sorted()[2]
        for (k, v) in results.sorted(by: { $0.key < $1.key }) {
            let med = v.sorted()[2]
            print("\(k): median \(med) ns/op, ratio to mutex \(med / base)")
        }
        print("check", metrics.totals().values.first!.receivedBytes, atomic.load(ordering: .relaxed), mutex.withLock { $0 })
        // Two workers counting at once: each on its own shard, against both on one shared atomic.
        for _ in 0..<3 {
            let shared = SharedCounter()
            var t = now()
            runTwo { _ in
                let own = metrics.makeShard().connection(l)
                for i in 0..<n { own.received(i & 0xff) }
            }
            let sharded = Double(now() - t) / Double(n)
            t = now()
            runTwo { _ in for i in 0..<n { shared.value.wrappingAdd(UInt64(i & 0xff), ordering: .relaxed) } }
            let contended = Double(now() - t) / Double(n)
            print("2 workers: per-worker shards \(sharded) ns/op, one shared atomic \(contended) ns/op, ratio \(sharded / contended)")
        }
        // Per-connection label resolution cost (dictionary lookup of 27 strings), once per connection.
        let m = 200_000
        let t = now()
        for _ in 0..<m { _ = shard.connection(l) }
        print("label-set resolution (existing slot): \(Double(now() - t) / Double(m)) ns/connection")
    }
}

final class SharedCounter: Sendable {
    let value = Atomic<UInt64>(0)
}

/// Runs `body` on two threads at once and waits for both.
func runTwo(_ body: @escaping @Sendable (Int) -> Void) {
    final class Box: @unchecked Sendable { let f: @Sendable (Int) -> Void; let i: Int; init(_ f: @escaping @Sendable (Int) -> Void, _ i: Int) { self.f = f; self.i = i } }
    var threads: [pthread_t] = []
    for i in 0..<2 {
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            b.f(b.i)
            return nil
        }, Unmanaged.passRetained(Box(body, i)).toOpaque())
        threads.append(t)
    }
    for t in threads { pthread_join(t, nil) }
}
