import Glibc
import Testing
import ZestCore
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestTelemetry
import ZestTestSupport

/// Two enrolled pods in their own network namespaces talking through their proxies: the
/// client's 15001, HBONE on the wire, the server's 15008, the app reached from the real
/// client address. The apps run before enrollment and are never restarted.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodTrafficTests {
    /// IPv4, and IPv6-only pods (no IPv4 address at all): the `:authority` is then `[IPv6]:port`.
    @Test(arguments: [MeshFamilies.ipv4, .ipv6])
    func enrolledPodsTalkOverHBONEWithTheRealClientAddressAndNoPlaintextOnTheWire(_ family: MeshFamilies) throws {
        let t = try MeshTopology(family == .ipv4 ? "hb" : "h6", families: family)
        defer { t.destroy() }
        let (aIP, bIP) = (family.podA[0], family.podB[0])
        let appPID = try t.startApp(in: t.podB)
        let appB = SocketAddress(ip: bIP, port: MeshTopology.appPort)

        // A connection opened before enrollment, still open across it.
        let early = try t.connect(from: t.aHandle, to: appB)
        let earlyGreeting = try EchoApp.greeting(early)
        #expect(earlyGreeting.peer == "\(aIP)")

        let proxiesB = try t.enroll(t.podDescriptionB, t.bHandle)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)

        let wire = try PacketCapture(t.node, interface: t.nodeVethTowardsA)
        let marker = "ZEST-PLAINTEXT-MARKER-\(UInt64.random(in: 0...UInt64.max))"
        let payload = EchoApp.payload(count: 1 << 20, marker: marker)
        let client = try t.connect(from: t.aHandle, to: appB)
        let greeting = try EchoApp.greeting(client)
        let echoed = try EchoApp.echo(client, payload: payload)
        let captured = wire.stop()

        #expect(greeting.peer == "\(aIP)", "the app sees pod A's own address")
        #expect(greeting.pid == appPID && t.isRunning(appPID), "the app was not restarted")
        #expect(echoed.count == payload.count && echoed.echoed == echoed.sent)
        #expect(!captured.isEmpty, "the capture saw the tunnel's packets")
        #expect(!captured.contains(bytes: Array(marker.utf8)), "no plaintext between enrolled pods")

        let a = proxiesA.counters(), b = proxiesB.counters()
        #expect(a.outboundAccepted == 1 && a.outboundHBONE == 1 && a.outboundPassthrough == 0)
        #expect(b.inboundHBONEConnections == 1 && b.inboundTunnelsOpened == 1 && b.inboundPlaintextAccepted == 0)
        #expect(a.bytesFromApp == UInt64(payload.count) && b.bytesToApp == UInt64(payload.count))

        // Istio metrics, both reporters, mutual TLS, bytes counted.
        #expect(waitUntil(timeout: .seconds(5)) { t.metrics.totals().values.reduce(0) { $0 + $1.closed } == 2 })
        let totals = t.metrics.totals()
        let source = try #require(totals.first { $0.key.reporter == .source }?.key)
        let destination = try #require(totals.first { $0.key.reporter == .destination }?.key)
        #expect(source.sourceWorkload == "pod-a" && source.destinationWorkload == "pod-b")
        #expect(destination.sourceWorkload == "pod-a" && destination.destinationWorkload == "pod-b")
        #expect(destination.sourcePrincipal == "spiffe://cluster.local/ns/ns-a/sa/sa-a")
        #expect(destination.connectionSecurityPolicy == .mutualTLS)
        #expect(totals[destination]?.receivedBytes == UInt64(payload.count))
        #expect(t.logText().contains("dst.hbone_addr=\(appB)"), "the CONNECT authority names pod B's app")

        // The pre-enrollment connection still works (capture redirects only new connections).
        let late = EchoApp.payload(count: 4096, marker: "early")
        let earlyEcho = try EchoApp.echo(early, payload: late)
        #expect(earlyEcho.echoed == earlyEcho.sent)
        #expect(proxiesB.counters().inboundTunnelsOpened == 1, "the early connection did not go through Zest")

        // Removal restores direct traffic: the marker is visible again and the proxies see nothing.
        try t.unenroll(proxiesA, t.aHandle)
        try t.unenroll(proxiesB, t.bHandle)
        let direct = try PacketCapture(t.node, interface: t.nodeVethTowardsA)
        let after = try t.connect(from: t.aHandle, to: appB)
        #expect(try EchoApp.greeting(after).peer == "\(aIP)")
        let afterEcho = try EchoApp.echo(after, payload: EchoApp.payload(count: 8192, marker: marker))
        #expect(afterEcho.echoed == afterEcho.sent)
        #expect(direct.stop().contains(bytes: Array(marker.utf8)), "without Zest the payload is plaintext on the wire")
    }
}
