import Foundation
import Glibc
import Testing
import ZestTestSupport

/// A peer that fails the mTLS handshake on a pod's 15008 is counted in
/// `tls_handshake_failures_total` with the reason, as it happens.
@Suite("zest run: handshake failure metrics", .serialized)
struct HandshakeMetricsTests {
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func aClientWithoutCertificateIsCountedByReason() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let server = try node.addPod("server", namespace: "shop", serviceAccount: "api")
        try node.startApp(in: server)
        try node.startCNI()
        let zest = try node.startZest()
        try node.enroll(server)
        #expect(waitUntil(timeout: .seconds(20)) { zest.podStates.count == 1 }, "\(zest.process.output.suffix(800))")
        let labels = ["reporter": "destination", "reason": "no_peer_certificate"]
        #expect(zest.metric("tls_handshake_failures_total", labels) == 0)

        // openssl offers h2 but no client certificate: Zest refuses in the handshake.
        try runCommand(["ip", "netns", "exec", node.router.name, "timeout", "10", "openssl", "s_client",
                        "-connect", "\(server.ip):15008", "-alpn", "h2", "-tls1_3"])
        #expect(waitUntil(timeout: .seconds(10)) { zest.metric("tls_handshake_failures_total", labels) >= 1 },
                "\(zest.metrics.split(separator: "\n").filter { $0.hasPrefix("tls_handshake") }.joined(separator: "\n"))")
    }
}
