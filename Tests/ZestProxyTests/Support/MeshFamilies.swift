import ZestCore

/// Which address families the pods of a `MeshTopology` have, and the addresses that follow:
/// IPv4 10.60.{1,2}.0/24 and IPv6 ULA fd60:{1,2}::/64, the node holding `.1`/`::1` on each
/// link and the pods `.2`/`::2`.
enum MeshFamilies: Sendable {
    case ipv4, ipv6, dualStack

    var hasIPv4: Bool { self != .ipv6 }
    var hasIPv6: Bool { self != .ipv4 }

    static let aIPv4 = IPAddress("10.60.1.2")!
    static let bIPv4 = IPAddress("10.60.2.2")!
    static let nodeIPv4TowardsA = IPAddress("10.60.1.1")!
    static let nodeIPv4TowardsB = IPAddress("10.60.2.1")!
    static let aIPv6 = IPAddress("fd60:1::2")!
    static let bIPv6 = IPAddress("fd60:2::2")!
    static let nodeIPv6TowardsA = IPAddress("fd60:1::1")!
    static let nodeIPv6TowardsB = IPAddress("fd60:2::1")!

    /// Pod A's addresses, IPv4 first.
    var podA: [IPAddress] { pick(Self.aIPv4, Self.aIPv6) }
    /// Pod B's addresses, IPv4 first.
    var podB: [IPAddress] { pick(Self.bIPv4, Self.bIPv6) }

    /// The `ip addr add` pairs (pod end, node end) of pod A's and pod B's links.
    var linkA: [(pod: String, node: String)] {
        pick4or6(("10.60.1.2/24", "10.60.1.1/24"), ("fd60:1::2/64", "fd60:1::1/64"))
    }
    var linkB: [(pod: String, node: String)] {
        pick4or6(("10.60.2.2/24", "10.60.2.1/24"), ("fd60:2::2/64", "fd60:2::1/64"))
    }
    /// The node's address towards pod A / pod B, that pod's default gateway, per family.
    var gatewaysA: [IPAddress] { pick(Self.nodeIPv4TowardsA, Self.nodeIPv6TowardsA) }
    var gatewaysB: [IPAddress] { pick(Self.nodeIPv4TowardsB, Self.nodeIPv6TowardsB) }

    /// Where the echo app binds: `0.0.0.0` in an IPv4-only mesh, else `::` (dual stack).
    var appBindHost: String { hasIPv6 ? "::" : "0.0.0.0" }

    private func pick(_ v4: IPAddress, _ v6: IPAddress) -> [IPAddress] {
        (hasIPv4 ? [v4] : []) + (hasIPv6 ? [v6] : [])
    }

    private func pick4or6(_ v4: (String, String), _ v6: (String, String)) -> [(pod: String, node: String)] {
        (hasIPv4 ? [v4] : []) + (hasIPv6 ? [v6] : [])
    }
}
