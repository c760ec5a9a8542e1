import CHeapStats
import Foundation
import Glibc
import PolicyBenchFixtures
import ZestCore
import ZestPolicy

// Self-timing policy and routing benchmarks: each figure is the median of 7 rounds, in ns per
// operation, with its ratio to a baseline (one Set<SocketAddress> lookup) timed in the same
// run, plus the heap bytes per workload of a 100,000-workload MeshState.
// Run: cd Benchmarks && swift run -c release PolicyBench

func nanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

@inline(never) func consume<T>(_ x: T) { withExtendedLifetime(x) {} }

/// Median ns per call of `body` over 7 rounds of `iterations` calls.
func measure(_ iterations: Int, _ body: (Int) -> Void) -> Double {
    var rounds: [Double] = []
    for _ in 0..<7 {
        let start = nanoseconds()
        for i in 0..<iterations { body(i) }
        rounds.append(Double(nanoseconds() - start) / Double(iterations))
    }
    return rounds.sorted()[3]
}

func heapInUse() -> Int { Int(zest_heap_in_use()) }

var rows: [(String, Double)] = []
let baselineSet = Set((0..<1024).map { SocketAddress(ip: .v4(UInt32($0)), port: 80) })
let baseline = measure(2_000_000) { consume(baselineSet.contains(SocketAddress(ip: .v4(UInt32($0 & 0xfff)), port: 80))) }

let request = PolicyFixtures.request
let realistic = PolicyFixtures.realisticNamespace()
rows.append(("authorize: allow, realistic 50-policy namespace (4 apply)",
             measure(500_000) { _ in consume(realistic.authorize(request).allowed) }))
let fifty = PolicyFixtures.fiftyApplying()
rows.append(("authorize: allow, 50 policies all applying (worst case)",
             measure(200_000) { _ in consume(fifty.authorize(request).allowed) }))
let plaintext = AuthorizationRequest(peer: nil, source: request.source, destination: request.destination)
rows.append(("authorize: plaintext, realistic namespace", measure(500_000) { _ in consume(realistic.authorize(plaintext).allowed) }))
/// A worker's per-connection snapshot read, with the reader as a local (as a worker holds it).
func readerCost(_ cell: MeshStateCell) -> Double {
    var reader = MeshStateReader(cell)
    return measure(2_000_000) { _ in consume(reader.current()) }
}
/// ns per read with two threads reading at once (the machine has two cores).
func contended(_ read: @escaping @Sendable () -> Void) -> Double {
    let reads = 20_000
    let start = nanoseconds()
    let threads = (0..<2).map { _ in Thread { for _ in 0..<reads { read() } } }
    threads.forEach { $0.start() }
    while threads.contains(where: { !$0.isFinished }) { usleep(1000) }
    return Double(nanoseconds() - start) / Double(reads)
}
let cell = MeshStateCell(realistic)
rows.append(("snapshot: MeshStateReader.current() (generation check)", readerCost(cell)))
rows.append(("snapshot: MeshStateCell.load() (mutex, uncontended)", measure(2_000_000) { _ in consume(cell.load()) }))
rows.append(("snapshot: 2 threads, MeshStateReader.current(), ns per read per thread",
             contended { var reader = MeshStateReader(cell); for _ in 0..<100 { consume(reader.current()) } } / 100))
rows.append(("snapshot: 2 threads, MeshStateCell.load(), ns per read per thread",
             contended { for _ in 0..<100 { consume(cell.load()) } } / 100))
let deny = PolicyFixtures.denyHeavy()
rows.append(("authorize: 10,000 DENY policies x 10 rules", measure(50) { _ in consume(deny.authorize(request).allowed) }))

// Heap of the store alone: workloads (with their labels and service maps) and their indexes.
let bareBefore = heapInUse()
var bare = PolicyFixtures.workloads(100_000, services: 10_000)
let bareState = MeshState(workloads: bare)
bare = []
let bareAfter = heapInUse()
let perWorkloadBare = Double(bareAfter - bareBefore) / 100_000
withExtendedLifetime(bareState) {}

let before = heapInUse()
var workloads = PolicyFixtures.workloads(100_000, services: 10_000)
let source = workloads[0]
let state = MeshState(workloads: workloads, services: PolicyFixtures.services(10_000))
workloads = []
let perWorkload = Double(heapInUse() - before) / 100_000

var rng = SystemRandomNumberGenerator()
rows.append(("route: service VIP (10 endpoints), 100,000 workloads / 10,000 services",
             measure(500_000) { i in consume(state.route(from: source, to: PolicyFixtures.vip(i % 10_000), using: &rng)) }))
rows.append(("route: pod IP, 100,000 workloads",
             measure(500_000) { i in
                 consume(state.route(from: source, to: SocketAddress(ip: .v4(0x0A00_0000 + UInt32(i % 100_000)), port: 8080),
                                     using: &rng))
             }))

print("| benchmark | ns/op (median of 7) | × baseline |")
print("|---|---:|---:|")
print("| baseline: Set<SocketAddress>.contains | \(String(format: "%.1f", baseline)) | 1.0 |")
for (name, ns) in rows {
    print("| \(name) | \(String(format: "%.1f", ns)) | \(String(format: "%.1f", ns / baseline)) |")
}
print("\nMeshState heap per workload, 100,000 workloads (labels and service ports included), no services: "
      + "\(String(format: "%.0f", perWorkloadBare)) bytes")
print("MeshState heap per workload, 100,000 workloads with 10,000 services and their endpoints: "
      + "\(String(format: "%.0f", perWorkload)) bytes")
