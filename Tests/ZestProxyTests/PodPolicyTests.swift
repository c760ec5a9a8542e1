import Glibc
import Testing
import ZestCore
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestTelemetry
import ZestTestSupport

/// Authorization at the destination pod, routing decisions at the source pod, and the
/// loop guard, on the same two-pod topology as `PodTrafficTests` (IPv4, IPv6 where the
/// test says so or takes the family as its argument).
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodPolicyTests {
    private let appB = SocketAddress(ip: MeshTopology.bIP, port: MeshTopology.appPort)

    @Test func denyPolicyAnswers401OnHBONEAndClosesPlaintextAndStrictRejectsPlaintext() throws {
        let t = try MeshTopology("deny")
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        let denyA = AuthorizationPolicy(name: "deny-pod-a", namespace: "ns-b", action: .deny, rules: [
            PolicyRule([PolicyClause([PolicyMatch(principals: [StringMatch(istioPattern: "cluster.local/ns/ns-a/sa/sa-a")])])]),
        ])
        let denyNode = AuthorizationPolicy(name: "deny-node", namespace: "ns-b", action: .deny, rules: [
            PolicyRule([PolicyClause([PolicyMatch(sourceIPs: [CIDR("10.60.2.1/32")!])])]),
        ])
        t.mesh.publish(MeshState(workloads: [t.workloadA, t.workloadB], policies: PolicySet(policies: [denyA, denyNode])))

        let fromA = try t.connect(from: t.aHandle, to: appB)
        #expect(throws: (any Error).self) { try EchoApp.greeting(fromA) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundTunnelsDenied == 1 })
        #expect(proxiesA.counters().outboundTunnelFailures == 1)
        #expect(proxiesB.counters().inboundTunnelsOpened == 0)

        let fromNode = try t.connect(from: t.nodeHandle, to: appB)
        #expect(throws: (any Error).self) { try EchoApp.greeting(fromNode) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundPlaintextDenied == 1 })

        let log = t.logText()
        #expect(log.contains("AuthorizationPolicy ns-b/deny-pod-a"), "the 401 names the policy in the log")
        #expect(log.contains("AuthorizationPolicy ns-b/deny-node"), "the plaintext close names the policy in the log")
        let denied = t.metrics.totals().filter { $0.key.responseFlags == "DENY" }
        #expect(denied.values.reduce(0) { $0 + $1.closed } == 2, "both denials are counted with response_flags=DENY")

        // STRICT mTLS: plaintext is refused, HBONE from the mesh still gets through.
        let strict = PeerAuthentication(name: "strict", namespace: "ns-b", mode: .strict)
        t.mesh.publish(MeshState(workloads: [t.workloadA, t.workloadB], policies: PolicySet(peerAuthentications: [strict])))
        let plain = try t.connect(from: t.nodeHandle, to: appB)
        #expect(throws: (any Error).self) { try EchoApp.greeting(plain) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundPlaintextDenied == 2 })
        #expect(t.logText().contains("PeerAuthentication ns-b/strict"))

        let mtls = try t.connect(from: t.aHandle, to: appB)
        #expect(try EchoApp.greeting(mtls).peer == "\(MeshTopology.aIP)")
        #expect(proxiesB.counters().inboundTunnelsOpened == 1)

        // Without a policy, plaintext reaches the app from the node's real address through 15006.
        t.mesh.publish(MeshState(workloads: [t.workloadA, t.workloadB]))
        let open = try t.connect(from: t.nodeHandle, to: appB)
        #expect(try EchoApp.greeting(open).peer == "\(MeshTopology.nodeIPTowardsB)")
        #expect(proxiesB.counters().inboundPlaintextAccepted == 3)
    }

    @Test func policyChangeClosesAnOpenConnectionItNowDenies() throws {
        let t = try MeshTopology("chg")
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        let tunnelled = try t.connect(from: t.aHandle, to: appB)
        _ = try EchoApp.greeting(tunnelled)
        let plaintext = try t.connect(from: t.nodeHandle, to: appB)
        _ = try EchoApp.greeting(plaintext)
        #expect(proxiesB.counters().open == 2)

        let denyAll = AuthorizationPolicy(name: "deny-everyone", namespace: "ns-b", action: .deny, rules: [
            PolicyRule([PolicyClause([PolicyMatch(sourceIPs: [CIDR("0.0.0.0/0")!])])]),
        ])
        t.mesh.publish(MeshState(workloads: [t.workloadA, t.workloadB], policies: PolicySet(policies: [denyAll])))

        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().closedByPolicyChange == 2 })
        #expect(connectionEnded(tunnelled) && connectionEnded(plaintext))
        #expect(proxiesB.counters().open == 0)
    }

    @Test(arguments: [MeshFamilies.ipv4, .ipv6])
    func unknownDestinationsPassThroughAndDialingTheListenerIsRefused(_ family: MeshFamilies) throws {
        let t = try MeshTopology(family == .ipv4 ? "pass" : "ps6", families: family)
        defer { t.destroy() }
        try t.startApp(in: t.node, port: 9090)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
        defer { proxiesA.stop() }

        let outside = try t.connect(from: t.aHandle, to: SocketAddress(ip: family.gatewaysA[0], port: 9090))
        #expect(try EchoApp.greeting(outside).peer == "\(family.podA[0])")
        let echoed = try EchoApp.echo(outside, payload: EchoApp.payload(count: 200_000, marker: "passthrough"))
        #expect(echoed.echoed == echoed.sent)
        let c = proxiesA.counters()
        #expect(c.outboundPassthrough == 1 && c.outboundHBONE == 0)

        // The outbound listener on the pod's loopback and on its own address are both loops.
        for listener in [family == .ipv4 ? IPAddress.loopbackV4 : .loopbackV6, family.podA[0]] {
            let loop = try t.connect(from: t.aHandle, to: SocketAddress(ip: listener, port: 15001))
            #expect(connectionEnded(loop), "\(SocketAddress(ip: listener, port: 15001)) is refused")
        }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesA.counters().outboundRefused == 2 })
        #expect(proxiesA.counters().outboundPassthrough == 1, "the refused connections went nowhere")
    }

    @Test func ipv6IpBlocksDenyAndAllowTunnelledAndPlaintextClients() throws {
        let t = try MeshTopology("p6", families: .ipv6)
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }
        let workloads = [t.workloadA, t.workloadB]
        let appB6 = SocketAddress(ip: MeshFamilies.bIPv6, port: MeshTopology.appPort)

        // DENY pod A's /64: its tunnel is refused (401); the node, in another /64, gets through.
        t.mesh.publish(MeshState(workloads: workloads, policies: PolicySet(policies: [
            Self.policy("deny-pod-a-net", .deny, sourceIPs: ["fd60:1::/64"]),
        ])))
        let fromA = try t.connect(from: t.aHandle, to: appB6)
        #expect(throws: (any Error).self) { try EchoApp.greeting(fromA) }
        #expect(waitUntil(timeout: .seconds(5)) { proxiesB.counters().inboundTunnelsDenied == 1 })
        #expect(proxiesB.counters().inboundTunnelsOpened == 0)
        let fromNode = try t.connect(from: t.nodeHandle, to: appB6)
        #expect(try EchoApp.greeting(fromNode).peer == "\(MeshFamilies.nodeIPv6TowardsB)")
        #expect(t.logText().contains("AuthorizationPolicy ns-b/deny-pod-a-net"))

        // An IPv4 block never matches an IPv6 client, not even 0.0.0.0/0.
        t.mesh.publish(MeshState(workloads: workloads, policies: PolicySet(policies: [
            Self.policy("deny-all-ipv4", .deny, sourceIPs: ["0.0.0.0/0"]),
        ])))
        let v4Rule = try t.connect(from: t.aHandle, to: appB6)
        #expect(try EchoApp.greeting(v4Rule).peer == "\(MeshFamilies.aIPv6)")
        #expect(proxiesB.counters().inboundTunnelsOpened == 1)

        // ALLOW only pod A's /128: A's tunnel passes, the node's plaintext is closed.
        t.mesh.publish(MeshState(workloads: workloads, policies: PolicySet(policies: [
            Self.policy("allow-pod-a", .allow, sourceIPs: ["fd60:1::2/128"]),
        ])))
        let allowed = try t.connect(from: t.aHandle, to: appB6)
        #expect(try EchoApp.greeting(allowed).peer == "\(MeshFamilies.aIPv6)")
        #expect(proxiesB.counters().inboundTunnelsOpened == 2)
        let refused = try t.connect(from: t.nodeHandle, to: appB6)
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

    private static func policy(_ name: String, _ action: AuthorizationPolicy.Action, sourceIPs: [String]) -> AuthorizationPolicy {
        AuthorizationPolicy(name: name, namespace: "ns-b", action: action, rules: [
            PolicyRule([PolicyClause([PolicyMatch(sourceIPs: sourceIPs.map { CIDR($0)! })])]),
        ])
    }
}
