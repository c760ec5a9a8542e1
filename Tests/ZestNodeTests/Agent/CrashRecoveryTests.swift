import Foundation
import Glibc
import Testing
import ZestTestSupport

/// `kill -9` of Zest leaves its rules in the pods; the next Zest reconciles them from the
/// CNI agent's snapshot: served pods keep one table, pods gone meanwhile lose theirs.
@Suite("zest run: crash recovery", .serialized)
struct CrashRecoveryTests {
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func restartAfterKillNineReconcilesRulesWithoutBlackholeOrDuplicates() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let client = try node.addPod("client", namespace: "shop", serviceAccount: "web")
        let kept = try node.addPod("kept", namespace: "shop", serviceAccount: "api")
        let dropped = try node.addPod("dropped", namespace: "shop", serviceAccount: "db")
        try node.startApp(in: kept)
        try node.startApp(in: dropped)
        try node.startCNI()
        let first = try node.startZest()
        for pod in [client, kept, dropped] { try node.enroll(pod) }
        #expect(waitUntil(timeout: .seconds(20)) { first.podStates.count == 3 }, "\(first.process.output.suffix(800))")
        #expect(node.connect(from: client, to: kept.ip).ok)

        first.process.terminate(SIGKILL)
        #expect(first.process.wait(timeout: .seconds(10)) != nil)
        // The rules outlive the process: a captured pod now has nobody at 15001/15006.
        #expect(try tables(in: dropped) == ["zest"])
        #expect(!node.connect(from: client, to: kept.ip).ok)
        #expect(!node.connect(from: node.router, to: dropped.ip).ok)
        // While Zest is down, `dropped` leaves the node (its pod file goes; its netns stays).
        try node.unenroll(dropped)

        let second = try node.startZest()
        #expect(waitUntil(timeout: .seconds(20)) { second.readiness?.status == 200 }, "\(second.process.output.suffix(800))")
        #expect(second.podStates == ["client": "Up", "kept": "Up"])
        #expect(try tables(in: kept) == ["zest"] && tables(in: client) == ["zest"], "exactly one table each")
        #expect(try ruleCount(in: kept) == 1, "exactly one policy rule")
        #expect(try tables(in: dropped).isEmpty, "the leftover table of a pod Zest no longer serves is removed")
        #expect(try ruleCount(in: dropped) == 0)
        #expect(second.process.output.contains("removed capture rules left in a namespace Zest does not serve"))

        #expect(node.connect(from: client, to: kept.ip).text == "ok kept sees \(client.ip)")
        // `dropped` still answers anyone outside the mesh directly (from the node router).
        #expect(node.connect(from: node.router, to: dropped.ip).text == "ok dropped sees 10.9.3.1")
        #expect(waitUntil(timeout: .seconds(5)) {
            second.metric("istio_tcp_connections_opened_total",
                          ["reporter": "destination", "destination_workload": "kept", "connection_security_policy": "mutual_tls"]) >= 1
        })
    }
}

/// Policy routing rules pointing at Zest's table 100 (`ip rule show`).
func ruleCount(in pod: NodeFixture.Pod) throws -> Int {
    try pod.netns.exec(["ip", "rule", "show"]).split(separator: "\n").filter { $0.contains("lookup 100") }.count
}
