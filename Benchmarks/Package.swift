// swift-tools-version:6.1
// Zest benchmarks, a package of their own so the main build stays lean.
// Run: cd Benchmarks && swift package benchmark            (all targets)
//      swift package benchmark --target Relay              (one area)
// Each area is one executable target under Benchmarks/<Name>/; add yours to `areas`.
import PackageDescription

let areas: [(name: String, dependencies: [Target.Dependency])] = [
    ("BufferPool", [.product(name: "ZestReactor", package: "Zest")]),
    ("Relay", [.product(name: "ZestReactor", package: "Zest"), .product(name: "ZestProxy", package: "Zest")]),
    ("Policy", [.product(name: "ZestPolicy", package: "Zest"), "PolicyBenchFixtures"]),
]

let package = Package(
    name: "ZestBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Zest", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: areas.map { area in
        .executableTarget(
            name: area.name,
            dependencies: area.dependencies + [.product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/\(area.name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    } + [
        // Load generator for scripts/relay-compare.sh: bulk streams through any TCP forwarder.
        .executableTarget(name: "RelayLoad", dependencies: ["LoadConsole", .product(name: "ZestReactor", package: "Zest")],
                          path: "Sources/RelayLoad"),
        // Mesh shapes for the Policy benchmarks, and a self-timing runner of the same (docs/bench/policy.md).
        .target(name: "PolicyBenchFixtures", dependencies: [.product(name: "ZestPolicy", package: "Zest")],
                path: "Sources/PolicyBenchFixtures"),
        .target(name: "CHeapStats", path: "Sources/CHeapStats"),
        // Native client and backend of Benchmarks/hbone/hbone_bench.py (docs/bench/hbone.md).
        .target(name: "CLoadShims", path: "Sources/CLoadShims"),
        .executableTarget(name: "HBONELoad", dependencies: ["CLoadShims", "LoadConsole"], path: "Sources/HBONELoad"),
        // fail/say shared by the two load tools.
        .target(name: "LoadConsole", path: "Sources/LoadConsole"),
        .executableTarget(name: "PolicyBench",
                          dependencies: ["PolicyBenchFixtures", "CHeapStats", .product(name: "ZestPolicy", package: "Zest")],
                          path: "Sources/PolicyBench"),
    ]
)
