import Glibc
import Testing
import ZestCore
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestTelemetry
import ZestTestSupport

/// Authorization at the destination pod, routing decisions at the source pod, and the
/// loop guard, on the same two-pod topology as `PodTrafficTests`.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodPolicyTests {
    private let appB = SocketAddress(ip: MeshTopology.bIP, port: MeshTopology.appPort)

    @Test func denyPolicyAnswers401OnHBONEAndClosesPlaintextAndStrictRejectsPlaintext() throws {
        let t = try MeshTopology("deny")
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let proxiesB = try t.enroll(t.podDescriptionB, t.bHandle)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
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
        let proxiesB = try t.enroll(t.podDescriptionB, t.bHandle)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
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

    @Test func unknownDestinationsPassThroughAndDialingTheListenerIsRefused() throws {
        let t = try MeshTopology("pass")
        defer { t.destroy() }
        try t.startApp(in: t.node, port: 9090)
        let proxiesA = try t.enroll(t.podDescriptionA, t.aHandle)
        defer { proxiesA.stop() }

        let outside = try t.connect(from: t.aHandle, to: SocketAddress(ip: MeshTopology.nodeIPTowardsA, port: 9090))
        #expect(try EchoApp.greeting(outside).peer == "\(MeshTopology.aIP)")
        let echoed = try EchoApp.echo(outside, payload: EchoApp.payload(count: 200_000, marker: "passthrough"))
        #expect(echoed.echoed == echoed.sent)
        let c = proxiesA.counters()
        #expect(c.outboundPassthrough == 1 && c.outboundHBONE == 0)

        let loop = try t.connect(from: t.aHandle, to: SocketAddress(ip: .loopbackV4, port: 15001))
        #expect(connectionEnded(loop))
        #expect(waitUntil(timeout: .seconds(5)) { proxiesA.counters().outboundRefused == 1 })
        #expect(proxiesA.counters().outboundPassthrough == 1, "the refused connection went nowhere")
    }
}
