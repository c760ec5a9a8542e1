import Foundation
import Testing
import ZestTestSupport

/// Envoy originator → Envoy terminator → echo backend, across two network namespaces. This
/// proves the Envoy configurations the Zest interop tests use before Zest is in the loop.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct EnvoyHarnessTests {
    static let identityA = "spiffe://cluster.local/ns/default/sa/node-a"
    static let identityB = "spiffe://cluster.local/ns/default/sa/node-b"

    @Test(arguments: [("10.203.0.2", "10.203.0.2:8080"), ("::1", "[::1]:8080")])
    func envoyPairTunnelsEightMiBBothWays(_ c: (String, String)) throws {
        let t = try InteropTopology("env")
        defer { t.tearDown() }
        try t.startEchoBackend(host: c.0, port: 8080)
        let tlsB = try t.certs.issue("node-b", identity: Self.identityB)
        let tlsA = try t.certs.issue("node-a", identity: Self.identityA)
        let term = try t.startEnvoy(in: t.b, "terminator", config: EnvoyConfig.terminator(
            listen: InteropTopology.addressB, port: 15008, tls: tlsB, trustDomain: "cluster.local"), baseID: Int.random(in: 1000...60000))
        let orig = try t.startEnvoy(in: t.a, "originator", config: EnvoyConfig.originator(
            listen: "127.0.0.1", port: 15001, peer: InteropTopology.addressB, peerPort: 15008, target: c.1,
            tls: tlsA, expectIdentity: Self.identityB), baseID: Int.random(in: 1000...60000))
        try t.waitForPort(in: t.b, host: InteropTopology.addressB, port: 15008, what: term)
        try t.waitForPort(in: t.a, host: "127.0.0.1", port: 15001, what: orig)
        let r = try t.echo(host: "127.0.0.1", port: 15001, count: 8 << 20)
        #expect(r.ok, "\(r.report)\n\(t.logs())")
    }
}
