import Glibc
import Testing
import ZestCore
import ZestRedirect
import ZestTestSupport

/// The IPv6 side of `CaptureBehaviourTests`, on the same node and pod namespaces (which have
/// fd77::1 and fd77::2 besides their IPv4 addresses): the `inet` table captures both families.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct CaptureBehaviourIPv6Tests {
    @Test func inboundIPv6ConnectionToAnAppPortLandsOn15006ButHBONEPortIsNotRedirected() throws {
        let t = try PodTopology("in6")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: .anyV6, port: 15006)).rawValue
        let hbone = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: .anyV6, port: 15008)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: .anyV6, port: 8080))
        defer { [plaintext, hbone, app].forEach { close($0) } }

        let appAddress = SocketAddress(ip: PodTopology.podIP6, port: 8080)
        let toApp = try TestSockets.connect(t.thread, t.nodeHandle, to: appAddress)
        defer { close(toApp) }
        #expect(TestSockets.awaitConnected(toApp))
        let captured = try #require(TestSockets.accept(plaintext))
        defer { close(captured) }
        #expect(TestSockets.originalDestination(captured, v6: true) == appAddress)
        #expect(TestSockets.peer(captured)?.ip == PodTopology.nodeIP6)
        #expect(TestSockets.accept(app, timeout: 0) == nil, "the app must not see a captured connection")

        let toHBONE = try TestSockets.connect(t.thread, t.nodeHandle, to: SocketAddress(ip: PodTopology.podIP6, port: 15008))
        defer { close(toHBONE) }
        #expect(TestSockets.awaitConnected(toHBONE))
        let direct = try #require(TestSockets.accept(hbone))
        close(direct)
        #expect(TestSockets.accept(plaintext, timeout: 0) == nil, "15008 must not be redirected to 15006")
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

    @Test func repliesToASourcePreservedIPv6ConnectionComeBackThroughThePolicyRoute() throws {
        let t = try PodTopology("spoof6")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: PodTopology.podIP6, port: 8080))
        defer { close(app) }

        var options = PodSocketOptions()
        options.transparent = true
        let upstream = try t.thread.openConnectingSocket(
            in: t.podHandle, to: SocketAddress(ip: PodTopology.podIP6, port: 8080),
            from: SocketAddress(ip: PodTopology.nodeIP6, port: 0), connectNow: true, options: options).rawValue
        defer { close(upstream) }
        #expect(TestSockets.awaitConnected(upstream), "the app's SYN-ACK must be routed back to Zest (IPv6 rule)")
        let accepted = try #require(TestSockets.accept(app))
        defer { close(accepted) }
        #expect(TestSockets.peer(accepted)?.ip == PodTopology.nodeIP6, "the app sees the real IPv6 client address")
        #expect(TestSockets.roundTrip("reply6", from: accepted, to: upstream))
    }

    @Test func aPodCallingItsOwnIPv6AddressReachesTheAppDirectly() throws {
        let t = try PodTopology("self6")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: .anyV6, port: 15001)).rawValue
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: .anyV6, port: 15006)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: PodTopology.podIP6, port: 8080))
        defer { close(outbound); close(plaintext); close(app) }

        let client = try TestSockets.connect(t.thread, t.podHandle, to: SocketAddress(ip: PodTopology.podIP6, port: 8080))
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client))
        let accepted = try #require(TestSockets.accept(app))
        close(accepted)
        #expect(TestSockets.accept(outbound, timeout: 0) == nil && TestSockets.accept(plaintext, timeout: 0) == nil)
    }

    @Test func kubeletProbesFromTheIPv6ProbeAddressBypassInboundCapture() throws {
        let t = try PodTopology("probe6")
        defer { t.destroy() }
        let probeSource = IPAddress("fd16:9254:7127:1337:ffff:ffff:ffff:ffff")!
        try runChecked(["ip", "-n", t.node.name, "addr", "add", "\(probeSource)/128", "dev", "lo", "nodad"])
        try runChecked(["ip", "-6", "-n", t.pod.name, "route", "add", "\(probeSource)/128", "via", "\(PodTopology.nodeIP6)"])
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: .anyV6, port: 15006)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: PodTopology.podIP6, port: 8080))
        defer { close(plaintext); close(app) }

        let probe = try TestSockets.connect(t.thread, t.nodeHandle, to: SocketAddress(ip: PodTopology.podIP6, port: 8080),
                                            from: SocketAddress(ip: probeSource, port: 0))
        defer { close(probe) }
        #expect(TestSockets.awaitConnected(probe))
        let accepted = try #require(TestSockets.accept(app))
        defer { close(accepted) }
        #expect(TestSockets.peer(accepted)?.ip == probeSource)
        #expect(TestSockets.accept(plaintext, timeout: 0) == nil)
    }
}
