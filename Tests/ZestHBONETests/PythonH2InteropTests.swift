import Foundation
import Testing
import ZestTestSupport

/// A third-party HTTP/2 stack (Python `h2` over `ssl`) sends raw CONNECT requests to
/// `zest tunnel-server` in node B: data moves both ways, and bad requests get the statuses
/// of ARCHITECTURE.md §4.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PythonH2InteropTests {
    @Test func pythonH2ClientTalksToZestServer() throws {
        let t = try InteropTopology("py")
        defer { t.tearDown() }
        try t.startEchoBackend(host: "10.203.0.2", port: 8080)
        let tlsB = try t.certs.issue("node-b", identity: ZestInteropTests.identityB)
        let tlsA = try t.certs.issue("node-a", identity: ZestInteropTests.identityA)
        let server = try t.startZestServer(listen: "10.203.0.2:15008", tls: tlsB)
        try t.waitForPort(in: t.a, host: "10.203.0.2", port: 15008, what: server)

        func request(_ method: String, _ authority: String, count: Int = 0) throws -> String {
            let r = try runCommand(["ip", "netns", "exec", t.a.name, TestPaths.python, TestPaths.fixtures + "/h2_connect_client.py",
                                    "10.203.0.2", "15008", method, authority, tlsA.certificate, tlsA.privateKey, tlsA.trustedCA,
                                    String(count)])
            return r.stdout + r.stderr
        }

        let echo = try request("CONNECT", "10.203.0.2:8080", count: ZestInteropTests.eightMiB)
        let fields = Dictionary(uniqueKeysWithValues: echo.split(whereSeparator: \.isWhitespace).compactMap { f -> (String, String)? in
            let kv = f.split(separator: "=", maxSplits: 1)
            return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
        })
        #expect(fields["status"] == "200" && fields["sent"] == fields["received"]
                && fields["bytes"] == String(ZestInteropTests.eightMiB), "\(echo)\n\(t.logs())")

        let statuses: [(String, String, String)] = [
            ("GET", "10.203.0.2:8080", "status=400"),
            ("CONNECT", "not-an-address", "status=400"),
            ("CONNECT", "10.203.0.2:15008", "status=503"),
            ("CONNECT", "10.203.0.2:8081", "status=503"),
        ]
        for (method, authority, expected) in statuses {
            let out = try request(method, authority)
            #expect(out.contains(expected), "\(method) \(authority): \(out)")
        }
    }
}
