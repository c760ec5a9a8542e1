import Foundation
import Glibc
import Testing
import ZestTestSupport

/// `zest run` on an IPv6-only node: pods (fd09:i::2) listed by their IPv6 address in the
/// local mesh config, enrolled through `zest cni` and ZDS, their traffic captured and carried
/// over HBONE with the client's IPv6 address kept, and released on unenrollment.
@Suite("zest run: IPv6-only pods", .serialized)
struct EnrollmentIPv6Tests {
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func ipv6OnlyPodsAreCapturedAndTunnelledAndReleasedOnUnenrollment() throws {
        let node = try NodeFixture(ipv6: true)
        defer { node.destroy() }
        let client = try node.addPod("client", namespace: "shop", serviceAccount: "web")
        let server = try node.addPod("server", namespace: "shop", serviceAccount: "api")
        let outsider = try node.addPod("outsider", namespace: "legacy", serviceAccount: "old")
        try node.startApp(in: server)
        #expect(node.connect(from: client, to: server.ip).text == "ok server sees \(client.ip)")

        try node.startCNI()
        let zest = try node.startZest()
        #expect(waitUntil(timeout: .seconds(20)) { zest.readiness?.status == 200 }, "\(zest.process.output.suffix(600))")
        try node.enroll(client)
        try node.enroll(server)
        #expect(waitUntil(timeout: .seconds(20)) { zest.podStates == ["client": "Up", "server": "Up"] },
                "\(zest.podStates) \(zest.process.output.suffix(800))")

        for _ in 0..<3 {
            #expect(node.connect(from: client, to: server.ip).text == "ok server sees \(client.ip)")
        }
        let mtls = ["source_workload": "client", "destination_workload": "server", "connection_security_policy": "mutual_tls"]
        #expect(waitUntil(timeout: .seconds(5)) {
            zest.metric("istio_tcp_connections_closed_total", mtls.merging(["reporter": "destination"]) { $1 }) >= 3
        }, "\(zest.metrics)")
        let counters = podCounters(zest)
        #expect((counters["client"]?["outbound"] as? [String: Any])?["hbone"] as? Int ?? 0 >= 3, "\(counters)")
        #expect((counters["server"]?["inboundHBONE"] as? [String: Any])?["tunnelsOpened"] as? Int ?? 0 >= 3, "\(counters)")

        // From a pod Zest does not serve: plaintext into the server's 15006, the IPv6 client kept.
        #expect(node.connect(from: outsider, to: server.ip).text == "ok server sees \(outsider.ip)")
        #expect((podCounters(zest)["server"]?["inboundPlaintext"] as? [String: Any])?["accepted"] as? Int ?? 0 >= 1)

        try node.unenroll(client)
        try node.unenroll(server)
        #expect(waitUntil(timeout: .seconds(10)) { zest.podStates.isEmpty }, "\(zest.podStates)")
        let before = zest.metric("istio_tcp_connections_opened_total")
        #expect(node.connect(from: client, to: server.ip).text == "ok server sees \(client.ip)")
        #expect(zest.metric("istio_tcp_connections_opened_total") == before)
        #expect(try tables(in: server).isEmpty && tables(in: client).isEmpty)
        #expect(try !server.netns.exec(["ip", "-6", "rule", "show"]).contains("lookup 100"))
    }
}
