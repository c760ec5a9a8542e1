import Glibc
import Testing
import ZestCore
import ZestRedirect
import ZestTestSupport

/// Real connections through installed capture rules, in a node namespace and a pod namespace
/// joined by a veth pair. The pair has an IPv4 and an IPv6 address on each end, and the `inet`
/// table captures both families: the scenarios that hold for either family run once per family.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct CaptureBehaviourTests {
    private let anyV4 = IPAddress.anyV4

    @Test(arguments: [CaptureFamily.ipv4, .ipv6])
    func outboundConnectionArrivesOn15001WithTheRealOriginalDestination(_ family: CaptureFamily) throws {
        let t = try PodTopology(family.label("out"))
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: family.any, port: 15001)).rawValue
        defer { close(outbound) }

        let target = SocketAddress(ip: family.nodeIP, port: 9090)
        let client = try TestSockets.connect(t.thread, t.podHandle, to: target)
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client))
        let accepted = try #require(TestSockets.accept(outbound))
        defer { close(accepted) }
        #expect(TestSockets.originalDestination(accepted, v6: family.isIPv6) == target)
        #expect(TestSockets.roundTrip("hello", from: client, to: accepted))
    }

    @Test(arguments: [CaptureFamily.ipv4, .ipv6])
    func inboundConnectionToAnAppPortLandsOn15006ButHBONEPortIsNotRedirected(_ family: CaptureFamily) throws {
        let t = try PodTopology(family.label("in"))
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: family.any, port: 15006)).rawValue
        let hbone = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: family.any, port: 15008)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: family.any, port: 8080))
        defer { [plaintext, hbone, app].forEach { close($0) } }

        let appAddress = SocketAddress(ip: family.podIP, port: 8080)
        let toApp = try TestSockets.connect(t.thread, t.nodeHandle, to: appAddress)
        defer { close(toApp) }
        #expect(TestSockets.awaitConnected(toApp))
        let captured = try #require(TestSockets.accept(plaintext))
        defer { close(captured) }
        #expect(TestSockets.originalDestination(captured, v6: family.isIPv6) == appAddress)
        #expect(TestSockets.peer(captured)?.ip == family.nodeIP)
        #expect(TestSockets.accept(app, timeout: 0) == nil, "the app must not see a captured connection")

        let toHBONE = try TestSockets.connect(t.thread, t.nodeHandle, to: SocketAddress(ip: family.podIP, port: 15008))
        defer { close(toHBONE) }
        #expect(TestSockets.awaitConnected(toHBONE))
        let direct = try #require(TestSockets.accept(hbone))
        close(direct)
        #expect(TestSockets.accept(plaintext, timeout: 0) == nil, "15008 must not be redirected to 15006")
    }

    @Test func socketsMarkedByZestBypassCapture() throws {
        let t = try PodTopology("mark")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15001)).rawValue
        let server = try TestSockets.listener(t.thread, t.nodeHandle, SocketAddress(ip: PodTopology.nodeIP, port: 9090))
        defer { close(outbound); close(server) }

        let marked = try t.thread.openConnectingSocket(in: t.podHandle, to: SocketAddress(ip: PodTopology.nodeIP, port: 9090),
                                                       connectNow: true).rawValue
        defer { close(marked) }
        #expect(TestSockets.awaitConnected(marked))
        let accepted = try #require(TestSockets.accept(server))
        defer { close(accepted) }
        #expect(TestSockets.peer(accepted)?.ip == PodTopology.podIP)
        #expect(TestSockets.accept(outbound, timeout: 0) == nil)
    }

    @Test func connectionOpenedBeforeInstallKeepsWorkingAfterwards() throws {
        let t = try PodTopology("pre")
        defer { t.destroy() }
        let server = try TestSockets.listener(t.thread, t.nodeHandle, SocketAddress(ip: PodTopology.nodeIP, port: 9090))
        defer { close(server) }
        let client = try TestSockets.connect(t.thread, t.podHandle, to: SocketAddress(ip: PodTopology.nodeIP, port: 9090))
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client))
        let accepted = try #require(TestSockets.accept(server))
        defer { close(accepted) }
        #expect(TestSockets.roundTrip("before", from: client, to: accepted))

        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15001)).rawValue
        defer { close(outbound) }
        #expect(TestSockets.roundTrip("after, pod to node", from: client, to: accepted))
        #expect(TestSockets.roundTrip("after, node to pod", from: accepted, to: client))
        #expect(TestSockets.accept(outbound, timeout: 0) == nil)

        // A new connection after install is captured, so the rules are live.
        let fresh = try TestSockets.connect(t.thread, t.podHandle, to: SocketAddress(ip: PodTopology.nodeIP, port: 9090))
        defer { close(fresh) }
        let captured = try #require(TestSockets.accept(outbound))
        close(captured)
    }

    @Test(arguments: [CaptureFamily.ipv4, .ipv6])
    func repliesToASourcePreservedConnectionComeBackThroughThePolicyRoute(_ family: CaptureFamily) throws {
        let t = try PodTopology(family.label("spoof"))
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: family.podIP, port: 8080))
        defer { close(app) }

        // As Zest's inbound path does: connect to the app from the client's (node's) address.
        var options = PodSocketOptions()
        options.transparent = true
        let upstream = try t.thread.openConnectingSocket(
            in: t.podHandle, to: SocketAddress(ip: family.podIP, port: 8080),
            from: SocketAddress(ip: family.nodeIP, port: 0), connectNow: true, options: options).rawValue
        defer { close(upstream) }
        #expect(TestSockets.awaitConnected(upstream), "the app's SYN-ACK must be routed back to Zest (\(family) rule)")
        let accepted = try #require(TestSockets.accept(app))
        defer { close(accepted) }
        #expect(TestSockets.peer(accepted)?.ip == family.nodeIP, "the app sees the real client address")
        #expect(TestSockets.roundTrip("reply", from: accepted, to: upstream))
    }

    @Test(arguments: [CaptureFamily.ipv4, .ipv6])
    func aPodCallingItsOwnAddressReachesTheAppDirectly(_ family: CaptureFamily) throws {
        let t = try PodTopology(family.label("self"))
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: family.any, port: 15001)).rawValue
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: family.any, port: 15006)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: family.podIP, port: 8080))
        defer { close(outbound); close(plaintext); close(app) }

        let client = try TestSockets.connect(t.thread, t.podHandle, to: SocketAddress(ip: family.podIP, port: 8080))
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client))
        let accepted = try #require(TestSockets.accept(app))
        close(accepted)
        #expect(TestSockets.accept(outbound, timeout: 0) == nil && TestSockets.accept(plaintext, timeout: 0) == nil)
    }

    @Test(arguments: [CaptureFamily.ipv4, .ipv6])
    func kubeletProbesFromTheProbeAddressBypassInboundCapture(_ family: CaptureFamily) throws {
        let t = try PodTopology(family.label("probe"))
        defer { t.destroy() }
        // The node owns the probe SNAT address; the pod routes it back over the veth.
        let probeSource = family.probeSource
        let hostRoute = "\(probeSource)/\(family.hostPrefix)"
        try runChecked(["ip", "-n", t.node.name, "addr", "add", hostRoute, "dev", "lo"] + (family.isIPv6 ? ["nodad"] : []))
        try runChecked(["ip", "-n", t.pod.name, "route", "add", hostRoute, "via", "\(family.nodeIP)"])
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: family.any, port: 15006)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: family.podIP, port: 8080))
        defer { close(plaintext); close(app) }

        let probe = try TestSockets.connect(t.thread, t.nodeHandle, to: SocketAddress(ip: family.podIP, port: 8080),
                                            from: SocketAddress(ip: probeSource, port: 0))
        defer { close(probe) }
        #expect(TestSockets.awaitConnected(probe))
        let accepted = try #require(TestSockets.accept(app))
        defer { close(accepted) }
        #expect(TestSockets.peer(accepted)?.ip == probeSource)
        #expect(TestSockets.accept(plaintext, timeout: 0) == nil)
    }

    /// A pod whose `net.ipv6.bindv6only` is 1 still gets IPv4 captured into Zest's `[::]`
    /// listeners, which turn `IPV6_V6ONLY` off themselves.
    @Test func anIPv6AnyListenerTakesCapturedIPv4EvenWhereBindV6OnlyIsOn() throws {
        let t = try PodTopology("v6o")
        defer { t.destroy() }
        try t.pod.exec(["sysctl", "-qw", "net.ipv6.bindv6only=1"])
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: .anyV6, port: 15001)).rawValue
        defer { close(outbound) }

        let target = SocketAddress(ip: PodTopology.nodeIP, port: 9090)
        let client = try TestSockets.connect(t.thread, t.podHandle, to: target)
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client), "the IPv4 connection reached the [::] listener")
        let accepted = try #require(TestSockets.accept(outbound))
        defer { close(accepted) }
        #expect(TestSockets.originalDestination(accepted) == target, "SO_ORIGINAL_DST works on the v4-mapped socket")
        #expect(TestSockets.roundTrip("mapped", from: client, to: accepted))
    }

    @Test func removingTheRulesRestoresDirectTraffic() throws {
        let t = try PodTopology("unen")
        defer { t.destroy() }
        let capture = PodCapture(mode: .zest(CaptureOptions()), thread: t.thread)
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15006)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: PodTopology.podIP, port: 8080))
        defer { close(plaintext); close(app) }
        let appAddress = SocketAddress(ip: PodTopology.podIP, port: 8080)

        try capture.install(in: t.podHandle)
        let captured = try TestSockets.connect(t.thread, t.nodeHandle, to: appAddress)
        defer { close(captured) }
        let atZest = try #require(TestSockets.accept(plaintext))
        close(atZest)

        try capture.remove(from: t.podHandle)
        let direct = try TestSockets.connect(t.thread, t.nodeHandle, to: appAddress)
        defer { close(direct) }
        #expect(TestSockets.awaitConnected(direct))
        let atApp = try #require(TestSockets.accept(app))
        close(atApp)
        #expect(TestSockets.accept(plaintext, timeout: 0) == nil)
    }
}
