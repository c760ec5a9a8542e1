// swift-tools-version:6.0
// Zest: a node-level L4 mTLS tunnel for Istio's ambient mesh.
// Layers follow ../shared/ARCHITECTURE.md §1; arrows point to what a layer may import.
import PackageDescription

let cSystemLibraries: [Target] = [
    .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(name: "CNftnl", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev"])]),
    .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
    .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
]

let package = Package(
    name: "Zest",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "zest", targets: ["zest"]),
        .library(name: "ZestReactor", targets: ["ZestReactor"]),  // for Benchmarks/
        .library(name: "ZestProxy", targets: ["ZestProxy"]),  // for Benchmarks/
        .library(name: "ZestPolicy", targets: ["ZestPolicy"]),  // for Benchmarks/
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: cSystemLibraries + [
        // C shims for Linux calls Swift cannot see (epoll, setns, splice, SO_ORIGINAL_DST …).
        .target(name: "CZestShims"),

        // Pure value types shared by every layer: addresses, CIDRs, SPIFFE identities.
        .target(name: "ZestCore"),

        // epoll loops, sockets, timers and the zero-copy buffer pool. Knows nothing of TLS.
        .target(name: "ZestReactor", dependencies: ["ZestCore", "CZestShims"]),

        // SPIFFE identities, keys, CSRs, certificate providers (embedded CA, files).
        .target(name: "ZestIdentity", dependencies: ["ZestCore", "COpenSSL"]),

        // OpenSSL 3 contexts and nonblocking TLS connections with SPIFFE verification.
        .target(name: "ZestTLS", dependencies: ["ZestCore", "ZestIdentity", "ZestReactor", "COpenSSL"]),

        // HTTP/2 CONNECT tunnels (client pool and server) on libnghttp2.
        .target(name: "ZestHBONE", dependencies: ["ZestCore", "ZestTLS", "ZestReactor", "CNghttp2"]),

        // L4 authorization and routing decisions: pure functions, no I/O.
        .target(name: "ZestPolicy", dependencies: ["ZestCore"]),

        // Local configuration files, Istio CRD YAML, the state store.
        .target(name: "ZestControl", dependencies: ["ZestCore", "ZestPolicy", .product(name: "Yams", package: "Yams")]),

        // nftables capture rules through libnftnl/libmnl, netns entry, policy routes.
        .target(name: "ZestRedirect", dependencies: ["ZestCore", "CZestShims", "CNftnl", "CMnl"]),

        // Metrics registry, Prometheus/readiness/admin HTTP, access log.
        .target(name: "ZestTelemetry", dependencies: ["ZestCore", "ZestReactor"]),

        // Outbound 15001, inbound HBONE 15008, inbound plaintext 15006, passthrough relay.
        .target(name: "ZestProxy", dependencies: [
            "ZestCore", "ZestReactor", "ZestTLS", "ZestHBONE", "ZestPolicy", "ZestTelemetry", "ZestIdentity", "ZestRedirect", "CZestShims",
        ]),

        // The node agent: enrollment (ZDS), per-pod proxy sets, drain.
        .target(name: "ZestNode", dependencies: [
            "ZestCore", "ZestReactor", "ZestIdentity", "ZestTLS", "ZestProxy", "ZestPolicy",
            "ZestControl", "ZestRedirect", "ZestTelemetry",
            "CZestShims", .product(name: "Yams", package: "Yams"),
        ]),

        .executableTarget(name: "zest", dependencies: [
            "ZestCore", "ZestReactor", "ZestIdentity", "ZestTLS", "ZestHBONE", "ZestPolicy",
            "ZestControl", "ZestRedirect", "ZestTelemetry", "ZestProxy", "ZestNode",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Helpers for tests only: privilege checks, bounded waits, namespaces, processes.
        .target(name: "ZestTestSupport", dependencies: ["ZestCore", "COpenSSL"]),

        .testTarget(name: "ZestCoreTests", dependencies: ["ZestCore", "ZestTestSupport"]),
        .testTarget(name: "ZestReactorTests", dependencies: ["ZestReactor", "ZestTestSupport"]),
        .testTarget(name: "ZestIdentityTests", dependencies: ["ZestIdentity", "ZestTestSupport"]),
        .testTarget(name: "ZestTLSTests", dependencies: ["ZestTLS", "ZestIdentity", "ZestReactor", "ZestTestSupport"]),
        .testTarget(name: "ZestHBONETests", dependencies: ["ZestHBONE", "ZestTLS", "ZestIdentity", "ZestReactor", "ZestTestSupport"]),
        .testTarget(name: "ZestPolicyTests", dependencies: ["ZestPolicy", "ZestTestSupport"]),
        .testTarget(name: "ZestControlTests", dependencies: ["ZestControl", "ZestPolicy", "ZestTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ZestRedirectTests", dependencies: ["ZestRedirect", "ZestTestSupport"]),
        .testTarget(name: "ZestTelemetryTests", dependencies: ["ZestTelemetry", "ZestTestSupport"]),
        .testTarget(name: "ZestProxyTests", dependencies: ["ZestProxy", "ZestTestSupport", "ZestIdentity", "ZestPolicy", "ZestRedirect", "ZestTelemetry", "ZestReactor"]),
        .testTarget(name: "ZestNodeTests", dependencies: ["ZestNode", "ZestTestSupport"]),
    ]
)
