import Foundation
import Testing
import ZestTestSupport

/// Zest's HBONE against itself and against Envoy 1.40, across two network namespaces so the
/// tunnel is the only path to the backend. Each case moves 8 MiB each way, sha256-checked.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct ZestInteropTests {
    static let identityA = "spiffe://cluster.local/ns/default/sa/node-a"
    static let identityB = "spiffe://cluster.local/ns/default/sa/node-b"
    static let eightMiB = 8 << 20

    enum Pair: String, CaseIterable, Sendable { case zestToZest, zestToEnvoy, envoyToZest }

    /// Starts the server side in B and the client side in A, listening on 127.0.0.1:9000; returns the client side.
    @discardableResult
    static func startPair(_ pair: Pair, _ t: InteropTopology, authority: String) throws -> ChildProcess {
        let tlsB = try t.certs.issue("node-b", identity: identityB)
        let tlsA = try t.certs.issue("node-a", identity: identityA)
        let hbone = "\(InteropTopology.addressB):15008"
        let server: ChildProcess
        switch pair {
        case .zestToZest, .envoyToZest:
            server = try t.startZestServer(listen: hbone, tls: tlsB)
        case .zestToEnvoy:
            server = try t.startEnvoy(in: t.b, "terminator", config: EnvoyConfig.terminator(
                listen: InteropTopology.addressB, port: 15008, tls: tlsB, trustDomain: "cluster.local"), baseID: Int.random(in: 1000...60000))
        }
        try t.waitForPort(in: t.b, host: InteropTopology.addressB, port: 15008, what: server)
        let client: ChildProcess
        switch pair {
        case .zestToZest, .zestToEnvoy:
            client = try t.startZestClient(listen: "127.0.0.1:9000", peer: hbone, authority: authority, tls: tlsA, expect: identityB)
        case .envoyToZest:
            client = try t.startEnvoy(in: t.a, "originator", config: EnvoyConfig.originator(
                listen: "127.0.0.1", port: 9000, peer: InteropTopology.addressB, peerPort: 15008, target: authority,
                tls: tlsA, expectIdentity: identityB), baseID: Int.random(in: 1000...60000))
        }
        try t.waitForPort(in: t.a, host: "127.0.0.1", port: 9000, what: client)
        return client
    }

    static let port: UInt16 = 9000

    static let cases: [(Pair, String, String)] = Pair.allCases.flatMap { p in
        [(p, "10.203.0.2", "10.203.0.2:8080"), (p, "::1", "[::1]:8080")]
    }

    @Test(arguments: cases)
    func tunnelsEightMiBBothWays(_ c: (Pair, String, String)) throws {
        let t = try InteropTopology("zi")
        defer { t.tearDown() }
        try t.startEchoBackend(host: c.1, port: 8080)
        try Self.startPair(c.0, t, authority: c.2)
        let r = try t.echo(host: "127.0.0.1", port: Self.port, count: Self.eightMiB)
        #expect(r.ok, "\(c.0) \(c.2): \(r.report)\n\(t.logs())")
    }

    @Test(arguments: Pair.allCases)
    func sixteenParallelTunnelsShareTheConnection(_ pair: Pair) throws {
        let t = try InteropTopology("zp")
        defer { t.tearDown() }
        try t.startEchoBackend(host: "10.203.0.2", port: 8080)
        let client = try Self.startPair(pair, t, authority: "10.203.0.2:8080")
        // 4 MiB each way per tunnel saturates both directions at once (a deadlock once).
        let r = try t.echo(host: "127.0.0.1", port: Self.port, count: 4 << 20, parallel: 16)
        #expect(r.ok, "\(pair): \(r.report)\n\(t.logs())")
        if pair != .envoyToZest {
            client.stop()
            #expect(client.log.contains("1 HBONE connection(s) dialed"), "all 16 tunnels on one connection: \(client.log)")
        }
    }

    @Test(arguments: Pair.allCases)
    func halfCloseWithALateAnswer(_ pair: Pair) throws {
        let t = try InteropTopology("zh")
        defer { t.tearDown() }
        try t.startEchoBackend(host: "10.203.0.2", port: 8080, late: true)
        try Self.startPair(pair, t, authority: "10.203.0.2:8080")
        let r = try t.echo(host: "127.0.0.1", port: Self.port, count: Self.eightMiB)
        #expect(r.ok, "\(pair): \(r.report)\n\(t.logs())")
    }

    @Test func drainLetsTheTunnelInFlightFinishThenExits() throws {
        let t = try InteropTopology("zd")
        defer { t.tearDown() }
        try t.startEchoBackend(host: "10.203.0.2", port: 8080, late: true)
        let tlsB = try t.certs.issue("node-b", identity: Self.identityB)
        let tlsA = try t.certs.issue("node-a", identity: Self.identityA)
        let server = try t.startZestServer(listen: "10.203.0.2:15008", tls: tlsB, drainSeconds: 15)
        try t.waitForPort(in: t.b, host: "10.203.0.2", port: 15008, what: server)
        let client = try t.startZestClient(listen: "127.0.0.1:9000", peer: "10.203.0.2:15008", authority: "10.203.0.2:8080",
                                           tls: tlsA, expect: Self.identityB)
        try t.waitForPort(in: t.a, host: "127.0.0.1", port: 9000, what: client)
        let echo = try t.startEchoClient(host: "127.0.0.1", port: Self.port, count: Self.eightMiB)
        let backendLog = t.dir + "/backend-8080.log"
        // Two: the port probe made an empty tunnel first; the second is the echo client's request.
        let sawEOF = waitUntil(timeout: .seconds(20)) {
            ((try? String(contentsOfFile: backendLog, encoding: .utf8)) ?? "").components(separatedBy: "eof").count > 2
        }
        #expect(sawEOF, "the request reached the backend: \(t.logs())")
        // SIGTERM while the answer is still to come: GOAWAY, and the tunnel must still finish.
        kill(server.process.processIdentifier, SIGTERM)
        #expect(waitUntil(timeout: .seconds(20)) { !echo.isRunning }, "echo finished: \(t.logs())")
        let fields = Dictionary(uniqueKeysWithValues: echo.log.split(whereSeparator: \.isWhitespace).compactMap { f -> (String, String)? in
            let kv = f.split(separator: "=", maxSplits: 1)
            return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
        })
        #expect(fields["sent"] != nil && fields["sent"] == fields["received"] && fields["bytes"] == String(Self.eightMiB),
                "the late answer crossed the draining server: \(echo.log)\n\(t.logs())")
        #expect(waitUntil(timeout: .seconds(20)) { !server.isRunning }, "the server exits once drained: \(server.log)")
        #expect(server.log.contains("stopped by signal 15"))
    }
}
