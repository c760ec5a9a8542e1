import Glibc
import Testing
import ZestCore
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestTelemetry
import ZestTestSupport

/// Address-based authorization and routing decisions for IPv6 pods, on the IPv6-only topology
/// of `PodTrafficIPv6Tests`: the IPv6 counterparts of `PodPolicyTests`.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodPolicyIPv6Tests {
    private let appB = SocketAddress(ip: MeshFamilies.bIPv6, port: MeshTopology.appPort)

    @Test func ipv6IpBlocksDenyAndAllowTunnelledAndPlaintextClients() throws {
        let t = try MeshTopology("p6", families: .ipv6)
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let proxiesB = try t.enroll(t.podDescriptionB, t.bHandle)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
        defer { proxiesA.stop(); proxiesB.stop() }
        let workloads = [t.workloadA, t.workloadB]

        // DENY pod A's /64: its tunnel is refused (401); the node, in another /64, gets through.
        t.mesh.publish(MeshState(workloads: workloads, policies: PolicySet(policies: [
            Self.policy("deny-pod-a-net", .deny, sourceIPs: ["fd60:1::/64"]),
        ])))
        let fromA = try t.connect(from: t.aHandle, to: appB)
        #expect(throws: (any Error).self) { try EchoApp.greeting(fromA) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundTunnelsDenied == 1 })
        #expect(proxiesB.counters().inboundTunnelsOpened == 0)
        let fromNode = try t.connect(from: t.nodeHandle, to: appB)
        #expect(try EchoApp.greeting(fromNode).peer == "\(MeshFamilies.nodeIPv6TowardsB)")
        #expect(t.logText().contains("AuthorizationPolicy ns-b/deny-pod-a-net"))

        // An IPv4 block never matches an IPv6 client, not even 0.0.0.0/0.
        t.mesh.publish(MeshState(workloads: workloads, policies: PolicySet(policies: [
            Self.policy("deny-all-ipv4", .deny, sourceIPs: ["0.0.0.0/0"]),
        ])))
        let v4Rule = try t.connect(from: t.aHandle, to: appB)
        #expect(try EchoApp.greeting(v4Rule).peer == "\(MeshFamilies.aIPv6)")
        #expect(proxiesB.counters().inboundTunnelsOpened == 1)

        // ALLOW only pod A's /128: A's tunnel passes, the node's plaintext is closed.
        t.mesh.publish(MeshState(workloads: workloads, policies: PolicySet(policies: [
            Self.policy("allow-pod-a", .allow, sourceIPs: ["fd60:1::2/128"]),
        ])))
        let allowed = try t.connect(from: t.aHandle, to: appB)
        #expect(try EchoApp.greeting(allowed).peer == "\(MeshFamilies.aIPv6)")
        #expect(proxiesB.counters().inboundTunnelsOpened == 2)
        let refused = try t.connect(from: t.nodeHandle, to: appB)
        #expect(throws: (any Error).self) { try EchoApp.greeting(refused) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundPlaintextDenied == 1 })

        // DENY ::/0 closes what is open from IPv6 clients and counts the denials.
        t.mesh.publish(MeshState(workloads: workloads, policies: PolicySet(policies: [
            Self.policy("deny-all-ipv6", .deny, sourceIPs: ["::/0"]),
        ])))
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().open == 0 })
        #expect(proxiesB.counters().closedByPolicyChange >= 3, "the tunnels and the plaintext connection still open")
        let denied = t.metrics.totals().filter { $0.key.responseFlags == "DENY" }
        #expect(denied.values.reduce(0) { $0 + $1.closed } == 2, "the 401 and the plaintext close carry response_flags=DENY")
    }

    @Test func unknownIPv6DestinationsPassThroughAndDialingTheListenerIsRefused() throws {
        let t = try MeshTopology("ps6", families: .ipv6)
        defer { t.destroy() }
        try t.startApp(in: t.node, port: 9090)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
        defer { proxiesA.stop() }

        let outside = try t.connect(from: t.aHandle, to: SocketAddress(ip: MeshFamilies.nodeIPv6TowardsA, port: 9090))
        #expect(try EchoApp.greeting(outside).peer == "\(MeshFamilies.aIPv6)")
        let echoed = try EchoApp.echo(outside, payload: EchoApp.payload(count: 200_000, marker: "passthrough"))
        #expect(echoed.echoed == echoed.sent)
        let c = proxiesA.counters()
        #expect(c.outboundPassthrough == 1 && c.outboundHBONE == 0)

        for listener in [IPAddress.loopbackV6, MeshFamilies.aIPv6] {
            let loop = try t.connect(from: t.aHandle, to: SocketAddress(ip: listener, port: 15001))
            #expect(connectionEnded(loop), "[\(listener)]:15001 is refused")
        }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesA.counters().outboundRefused == 2 })
        #expect(proxiesA.counters().outboundPassthrough == 1, "the refused connections went nowhere")
    }

    private static func policy(_ name: String, _ action: AuthorizationPolicy.Action, sourceIPs: [String]) -> AuthorizationPolicy {
        AuthorizationPolicy(name: name, namespace: "ns-b", action: action, rules: [
            PolicyRule([PolicyClause([PolicyMatch(sourceIPs: sourceIPs.map { CIDR($0)! })])]),
        ])
    }
}
