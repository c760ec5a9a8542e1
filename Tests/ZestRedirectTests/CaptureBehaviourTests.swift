import Glibc
import Testing
import ZestCore
import ZestRedirect
import ZestTestSupport

/// Real connections through installed capture rules, in a node namespace and a pod namespace
/// joined by a veth pair.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct CaptureBehaviourTests {
    private let anyV4 = IPAddress.anyV4

    @Test func outboundConnectionArrivesOn15001WithTheRealOriginalDestination() throws {
        let t = try PodTopology("out")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15001)).rawValue
        defer { close(outbound) }

        let target = SocketAddress(ip: PodTopology.nodeIP, port: 9090)
        let client = try TestSockets.connect(t.thread, t.podHandle, to: target)
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client))
        let accepted = try #require(TestSockets.accept(outbound))
        defer { close(accepted) }
        #expect(TestSockets.originalDestination(accepted) == target)
        #expect(TestSockets.roundTrip("hello", from: client, to: accepted))
    }

    @Test func outboundIPv6ConnectionArrivesOn15001WithTheRealOriginalDestination() throws {
        let t = try PodTopology("out6")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: .anyV6, port: 15001)).rawValue
        defer { close(outbound) }

        let target = SocketAddress(ip: PodTopology.nodeIP6, port: 9090)
        let client = try TestSockets.connect(t.thread, t.podHandle, to: target)
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client))
        let accepted = try #require(TestSockets.accept(outbound))
        defer { close(accepted) }
        #expect(TestSockets.originalDestination(accepted, v6: true) == target)
        #expect(TestSockets.roundTrip("hello6", from: client, to: accepted))
    }

    @Test func inboundConnectionToAnAppPortLandsOn15006ButHBONEPortIsNotRedirected() throws {
        let t = try PodTopology("in")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15006)).rawValue
        let hbone = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15008)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: anyV4, port: 8080))
        defer { [plaintext, hbone, app].forEach { close($0) } }

        let toApp = try TestSockets.connect(t.thread, t.nodeHandle, to: SocketAddress(ip: PodTopology.podIP, port: 8080))
        defer { close(toApp) }
        #expect(TestSockets.awaitConnected(toApp))
        let captured = try #require(TestSockets.accept(plaintext))
        defer { close(captured) }
        #expect(TestSockets.originalDestination(captured) == SocketAddress(ip: PodTopology.podIP, port: 8080))
        #expect(TestSockets.peer(captured)?.ip == PodTopology.nodeIP)
        #expect(TestSockets.accept(app, timeout: 0) == nil, "the app must not see a captured connection")

        let toHBONE = try TestSockets.connect(t.thread, t.nodeHandle, to: SocketAddress(ip: PodTopology.podIP, port: 15008))
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

    @Test func repliesToASourcePreservedConnectionComeBackThroughThePolicyRoute() throws {
        let t = try PodTopology("spoof")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: PodTopology.podIP, port: 8080))
        defer { close(app) }

        // As Zest's inbound path does: connect to the app from the client's (node's) address.
        var options = PodSocketOptions()
        options.transparent = true
        let upstream = try t.thread.openConnectingSocket(
            in: t.podHandle, to: SocketAddress(ip: PodTopology.podIP, port: 8080),
            from: SocketAddress(ip: PodTopology.nodeIP, port: 0), connectNow: true, options: options).rawValue
        defer { close(upstream) }
        #expect(TestSockets.awaitConnected(upstream), "the app's SYN-ACK must be routed back to Zest")
        let accepted = try #require(TestSockets.accept(app))
        defer { close(accepted) }
        #expect(TestSockets.peer(accepted)?.ip == PodTopology.nodeIP, "the app sees the real client address")
        #expect(TestSockets.roundTrip("reply", from: accepted, to: upstream))
    }

    @Test func aPodCallingItsOwnAddressReachesTheAppDirectly() throws {
        let t = try PodTopology("self")
        defer { t.destroy() }
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let outbound = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15001)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: PodTopology.podIP, port: 8080))
        defer { close(outbound); close(app) }

        let client = try TestSockets.connect(t.thread, t.podHandle, to: SocketAddress(ip: PodTopology.podIP, port: 8080))
        defer { close(client) }
        #expect(TestSockets.awaitConnected(client))
        let accepted = try #require(TestSockets.accept(app))
        close(accepted)
        #expect(TestSockets.accept(outbound, timeout: 0) == nil)
    }

    @Test func kubeletProbesFromTheProbeAddressBypassInboundCapture() throws {
        let t = try PodTopology("probe")
        defer { t.destroy() }
        // The node owns the probe SNAT address; the pod routes it back over the veth.
        try runChecked(["ip", "-n", t.node.name, "addr", "add", "169.254.7.127/32", "dev", "lo"])
        try runChecked(["ip", "-n", t.pod.name, "route", "add", "169.254.7.127/32", "via", "10.77.0.1"])
        try PodCapture(mode: .zest(CaptureOptions()), thread: t.thread).install(in: t.podHandle)
        let plaintext = try t.thread.openListener(in: t.podHandle, address: SocketAddress(ip: anyV4, port: 15006)).rawValue
        let app = try TestSockets.listener(t.thread, t.podHandle, SocketAddress(ip: PodTopology.podIP, port: 8080))
        defer { close(plaintext); close(app) }

        let probe = try TestSockets.connect(t.thread, t.nodeHandle, to: SocketAddress(ip: PodTopology.podIP, port: 8080),
                                            from: SocketAddress(ip: IPAddress("169.254.7.127")!, port: 0))
        defer { close(probe) }
        #expect(TestSockets.awaitConnected(probe))
        let accepted = try #require(TestSockets.accept(app))
        defer { close(accepted) }
        #expect(TestSockets.peer(accepted)?.ip == IPAddress("169.254.7.127"))
        #expect(TestSockets.accept(plaintext, timeout: 0) == nil)
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
