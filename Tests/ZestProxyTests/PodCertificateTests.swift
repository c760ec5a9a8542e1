import Foundation
import Testing
import ZestCore
import ZestIdentity
import ZestProxy
import ZestReactor
import ZestRedirect
import ZestTestSupport

/// Certificate rotation: new handshakes use the certificate given to `rotate`, open
/// connections keep the one they started with.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodCertificateTests {
    @Test func rotatedCertificateServesNewHandshakesWhileOpenConnectionsKeepTheirs() throws {
        let t = try MeshTopology("rot")
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let appB = SocketAddress(ip: MeshTopology.bIP, port: MeshTopology.appPort)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        let open = try t.connect(from: t.aHandle, to: appB)
        _ = try EchoApp.greeting(open)

        // A certificate for B's identity from a CA pod A does not trust: once B presents it,
        // A's handshakes with B must fail, which shows the rotation reached new handshakes.
        let (root, key) = try CertificateAuthority.generateRoot(trustDomain: "cluster.local")
        let foreign = EmbeddedCA(authority: try CertificateAuthority(signingCertificate: root, signingKey: key,
                                                                     intermediates: [], roots: [root],
                                                                     trustDomain: "cluster.local", source: "test"))
        try proxiesB.rotate(to: foreign.fetchCertificate(for: proxiesB.identity, now: Date()))
        proxiesA.drain(deadline: .seconds(30))  // GOAWAY on A's pooled connection, so the next tunnel dials anew
        let proxiesA2 = try t.enrollAgainAfterDrain(t.podDescriptionA, t.aHandle)
        defer { proxiesA2.stop() }

        let fresh = try t.connect(from: t.aHandle, to: appB)
        #expect(throws: (any Error).self, "A refuses B's certificate from an untrusted CA") { try EchoApp.greeting(fresh) }
        #expect(proxiesA2.counters().outboundTunnelFailures == 1)

        let echoed = try EchoApp.echo(open, payload: EchoApp.payload(count: 50_000, marker: "kept"))
        #expect(echoed.echoed == echoed.sent, "the connection opened before the rotation keeps working")
    }
}

extension MeshTopology {
    /// Starts a second proxy set for a pod whose first set is draining (its listeners are
    /// closed, so the new set's listeners take the pod's new connections).
    func enrollAgainAfterDrain(_ pod: PodDescription, _ handle: NetNamespace) throws -> PodProxySet {
        try PodProxySet(PodProxySet.Configuration(
            pod: pod, network: NetnsPodNetwork(thread: thread, namespace: handle), mesh: mesh,
            certificates: certificates, metrics: metrics, logger: logger), workers: workers)
    }
}
