import Foundation
import Glibc
import Testing
import ZestTestSupport

/// Pods whose apps run before Zest are enrolled through `zest cni` and ZDS without restart;
/// their traffic then goes through Zest's per-pod listeners, and goes direct again after
/// unenrollment. Real processes, real namespaces, real nftables.
@Suite("zest run: enrollment and traffic", .serialized)
struct EnrollmentTrafficTests {
    /// Run once on an IPv4 node and once on an IPv6-only node (pods fd09:i::2, listed by their
    /// IPv6 address in the local mesh config, the client's IPv6 address kept end to end).
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)), arguments: [false, true])
    func runningPodsAreCapturedWithoutRestartAndReleasedOnUnenrollment(ipv6Only: Bool) throws {
        let node = try NodeFixture(ipv6: ipv6Only)
        defer { node.destroy() }
        let client = try node.addPod("client", namespace: "shop", serviceAccount: "web")
        let server = try node.addPod("server", namespace: "shop", serviceAccount: "api")
        let outsider = try node.addPod("outsider", namespace: "legacy", serviceAccount: "old")
        let app = try node.startApp(in: server)
        let appPID = app.pid

        // Before Zest: direct plaintext, and a long-lived connection opened now.
        #expect(node.connect(from: client, to: server.ip).text == "ok server sees \(client.ip)")
        let held = try ChildProcess(["python3", NodeFixture.probe, "hold", server.ip, "8080"], netns: client.netns.name,
                                    outputPath: node.dir.path + "/held.log", stdin: true)
        defer { held.stop(grace: .milliseconds(200)) }
        #expect(waitUntil(timeout: .seconds(10)) { held.output.contains("greeting server sees \(client.ip)") })

        try node.startCNI()
        let zest = try node.startZest()
        #expect(waitUntil(timeout: .seconds(20)) { zest.readiness?.status == 200 }, "\(zest.process.output.suffix(600))")
        try node.enroll(client)
        try node.enroll(server)
        #expect(waitUntil(timeout: .seconds(20)) { zest.podStates == ["client": "Up", "server": "Up"] },
                "\(zest.podStates) \(zest.process.output.suffix(800))")

        let certificates = zest.configDump["certificates"] as? [[String: Any]] ?? []
        #expect(certificates.compactMap { $0["identity"] as? String }.sorted()
                == ["spiffe://cluster.local/ns/shop/sa/api", "spiffe://cluster.local/ns/shop/sa/web"])
        for c in certificates {
            #expect(c["state"] as? String == "Available")
            let leaf = (c["certChain"] as? [[String: Any]])?.first
            #expect((leaf?["expirationTime"] as? String)?.hasSuffix("Z") == true && leaf?["validFrom"] != nil, "\(c)")
        }

        // Enrolled pod to enrolled pod: 15001 in the client, HBONE to 15008 in the server,
        // and the app still sees the client's own address.
        for _ in 0..<3 {
            #expect(node.connect(from: client, to: server.ip).text == "ok server sees \(client.ip)")
        }
        let mtls = ["source_workload": "client", "destination_workload": "server", "connection_security_policy": "mutual_tls"]
        #expect(waitUntil(timeout: .seconds(5)) {
            zest.metric("istio_tcp_connections_closed_total", mtls.merging(["reporter": "destination"]) { $1 }) >= 3
        }, "\(zest.metrics)")
        #expect(zest.metric("istio_tcp_connections_opened_total", mtls.merging(["reporter": "source"]) { $1 }) >= 3)
        let counters = podCounters(zest)
        #expect((counters["client"]?["outbound"] as? [String: Any])?["hbone"] as? Int ?? 0 >= 3, "\(counters)")
        #expect((counters["server"]?["inboundHBONE"] as? [String: Any])?["tunnelsOpened"] as? Int ?? 0 >= 3, "\(counters)")

        // From a pod Zest does not serve: plaintext into the server's 15006, client IP kept.
        #expect(node.connect(from: outsider, to: server.ip).text == "ok server sees \(outsider.ip)")
        #expect(waitUntil(timeout: .seconds(5)) {
            zest.metric("istio_tcp_connections_opened_total",
                        ["reporter": "destination", "destination_workload": "server", "connection_security_policy": "unknown"]) >= 1
        }, "\(zest.metrics)")
        #expect((podCounters(zest)["server"]?["inboundPlaintext"] as? [String: Any])?["accepted"] as? Int ?? 0 >= 1)

        // The connection opened before enrollment still works; the app was never restarted.
        held.send(line: "still-here")
        #expect(waitUntil(timeout: .seconds(5)) { held.output.contains("echo still-here") }, "\(held.output)")
        #expect(app.isRunning && app.pid == appPID)
        #expect(try tables(in: server) == ["zest"])

        // Unenrolled: rules gone, traffic direct again (Zest's counters stand still).
        try node.unenroll(client)
        try node.unenroll(server)
        #expect(waitUntil(timeout: .seconds(10)) { zest.podStates.isEmpty }, "\(zest.podStates)")
        let before = zest.metric("istio_tcp_connections_opened_total")
        #expect(node.connect(from: client, to: server.ip).text == "ok server sees \(client.ip)")
        #expect(node.connect(from: outsider, to: server.ip).text == "ok server sees \(outsider.ip)")
        #expect(zest.metric("istio_tcp_connections_opened_total") == before)
        #expect(try tables(in: server).isEmpty && tables(in: client).isEmpty)
        #expect(try !server.netns.exec(["ip"] + (ipv6Only ? ["-6"] : []) + ["rule", "show"]).contains("lookup 100"))
        #expect(zest.metric("workload_manager_proxies_stopped_total") == 2)
        held.send(line: "after")
        #expect(waitUntil(timeout: .seconds(5)) { held.output.contains("echo after") }, "\(held.output)")
    }

    @Test(.enabled(if: Privilege.canRunPrivilegedTests && FileManager.default.isExecutableFile(atPath: "/usr/bin/tcpdump"),
                   Comment(rawValue: Privilege.skipReason)))
    func wireBetweenEnrolledPodsCarriesNoPlaintext() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let client = try node.addPod("client", namespace: "shop", serviceAccount: "web")
        let server = try node.addPod("server", namespace: "shop", serviceAccount: "api")
        try node.startApp(in: server)
        let hold = { (name: String) in
            try ChildProcess(["python3", NodeFixture.probe, "hold", server.ip, "8080"], netns: client.netns.name,
                             outputPath: node.dir.path + "/\(name).log", stdin: true)
        }
        let direct = try hold("direct")
        defer { direct.stop(grace: .milliseconds(200)) }
        #expect(waitUntil(timeout: .seconds(10)) { direct.output.contains("greeting") })
        try node.startCNI()
        let zest = try node.startZest()
        try node.enroll(client)
        try node.enroll(server)
        #expect(waitUntil(timeout: .seconds(20)) { zest.podStates.count == 2 }, "\(zest.process.output.suffix(800))")
        let meshed = try hold("meshed")
        defer { meshed.stop(grace: .milliseconds(200)) }
        #expect(waitUntil(timeout: .seconds(10)) { meshed.output.contains("greeting server sees \(client.ip)") })

        let pcap = node.dir.path + "/wire.pcap"
        let capture = try ChildProcess(["tcpdump", "-i", server.routerInterface, "-U", "-s", "0", "-w", pcap, "tcp"],
                                       netns: node.router.name, outputPath: node.dir.path + "/tcpdump.log")
        defer { capture.stop(grace: .milliseconds(500)) }
        #expect(waitUntil(timeout: .seconds(10)) { capture.output.contains("listening on") })
        meshed.send(line: "MESHED-SECRET-4711")
        direct.send(line: "DIRECT-CONTROL-0815")
        #expect(waitUntil(timeout: .seconds(5)) {
            meshed.output.contains("echo MESHED-SECRET-4711") && direct.output.contains("echo DIRECT-CONTROL-0815")
        })
        Thread.sleep(forTimeInterval: 0.3)
        capture.stop(grace: .seconds(2))
        let text = try runChecked(["tcpdump", "-r", pcap, "-nn", "-A"])
        #expect(text.contains("DIRECT-CONTROL-0815"), "the control connection (opened before enrollment) is plaintext on the wire")
        #expect(!text.contains("MESHED-SECRET-4711"), "enrolled pods' traffic is encrypted on the wire")
        #expect(text.contains("\(server.ip).15008"), "it travels to the server's HBONE port")
    }
}

/// Per-pod counters from `/config_dump` `workloadState.pods.<uid>.connections`.
func podCounters(_ zest: NodeFixture.Zest) -> [String: [String: Any]] {
    let pods = (zest.configDump["workloadState"] as? [String: Any])?["pods"] as? [String: Any] ?? [:]
    return pods.compactMapValues { ($0 as? [String: Any])?["connections"] as? [String: Any] }
}

/// nftables tables in a pod's namespace (`nft list tables`), names only.
func tables(in pod: NodeFixture.Pod) throws -> [String] {
    try pod.netns.exec(["nft", "list", "tables"]).split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
}
