import Benchmark
import PolicyBenchFixtures
import ZestCore
import ZestPolicy

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
                                           maxDuration: .seconds(3))
    // Each benchmark builds its mesh first; start/stopMeasurement() keep building it and
    // freeing it (a 100,000-workload state takes longer to free than to route through) out.

    // Baseline measured in the same run: one hash-set lookup, the least a proxy does per connection.
    Benchmark("baseline: Set<SocketAddress>.contains", configuration: .init(scalingFactor: .mega)) { benchmark in
        let set = Set((0..<1024).map { SocketAddress(ip: .v4(UInt32($0)), port: 80) })
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            blackHole(set.contains(SocketAddress(ip: .v4(UInt32(truncatingIfNeeded: i)), port: 80)))
        }
    }

    Benchmark("authorize: allow, realistic 50-policy namespace", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let state = PolicyFixtures.realisticNamespace()
        let request = PolicyFixtures.request
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(state.authorize(request).allowed) }
        benchmark.stopMeasurement()
    }

    Benchmark("authorize: allow, 50 policies all applying", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let state = PolicyFixtures.fiftyApplying()
        let request = PolicyFixtures.request
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(state.authorize(request).allowed) }
        benchmark.stopMeasurement()
    }

    Benchmark("authorize: 10,000 DENY policies x 10 rules", configuration: .init(maxDuration: .seconds(5))) { benchmark in
        let state = PolicyFixtures.denyHeavy()
        let request = PolicyFixtures.request
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(state.authorize(request).allowed) }
        benchmark.stopMeasurement()
    }

    Benchmark("route: service VIP, 100,000 workloads / 10,000 services", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let workloads = PolicyFixtures.workloads(100_000, services: 10_000)
        let state = MeshState(workloads: workloads, services: PolicyFixtures.services(10_000))
        let source = workloads[0]
        var rng = SystemRandomNumberGenerator()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            blackHole(state.route(from: source, to: PolicyFixtures.vip(i % 10_000), using: &rng))
        }
        benchmark.stopMeasurement()
    }
}
