import ZestCore

/// The address family a capture test runs in, and the `PodTopology` addresses that go with it:
/// node 10.77.0.1 / fd77::1 and pod 10.77.0.2 / fd77::2 on the same veth pair.
enum CaptureFamily: Sendable {
    case ipv4, ipv6

    var isIPv6: Bool { self == .ipv6 }
    /// The wildcard address a listener binds in this family.
    var any: IPAddress { isIPv6 ? .anyV6 : .anyV4 }
    var nodeIP: IPAddress { isIPv6 ? PodTopology.nodeIP6 : PodTopology.nodeIP }
    var podIP: IPAddress { isIPv6 ? PodTopology.podIP6 : PodTopology.podIP }
    /// The source address kubelet probes are SNATed to, which capture lets through to the app.
    var probeSource: IPAddress {
        isIPv6 ? IPAddress("fd16:9254:7127:1337:ffff:ffff:ffff:ffff")! : IPAddress("169.254.7.127")!
    }
    /// The prefix length of a single host: /32 or /128.
    var hostPrefix: Int { isIPv6 ? 128 : 32 }

    /// A namespace label unique per family: `base` for IPv4, `base` + "6" for IPv6.
    func label(_ base: String) -> String { isIPv6 ? base + "6" : base }
}
