import Foundation
import Glibc
import Testing
import ZestTestSupport

/// Upgrade hand-off: a second Zest binds the same pod ports with SO_REUSEPORT; the first,
/// on SIGTERM, closes its listeners at once and keeps its open connections until
/// CONNECTION_TERMINATION_DEADLINE, then exits 0. No connection attempt is refused.
@Suite("zest run: drain and hand-off", .serialized)
struct HandOffTests {
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func secondZestTakesNewConnectionsWhileTheFirstDrainsItsOwnUntilTheDeadline() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let client = try node.addPod("client", namespace: "shop", serviceAccount: "web")
        let server = try node.addPod("server", namespace: "shop", serviceAccount: "api")
        try node.startApp(in: server)
        try node.startCNI(socket: 0)
        let old = try node.startZest(socket: 0, deadline: "4s")
        try node.enroll(client)
        try node.enroll(server)
        #expect(waitUntil(timeout: .seconds(20)) { old.podStates.count == 2 }, "\(old.process.output.suffix(800))")

        let held = try ChildProcess(["python3", NodeFixture.probe, "hold", server.ip, "8080"], netns: client.netns.name,
                                    outputPath: node.dir.path + "/held.log", stdin: true)
        defer { held.stop(grace: .milliseconds(200)) }
        #expect(waitUntil(timeout: .seconds(10)) { held.output.contains("greeting server sees \(client.ip)") })
        #expect(waitUntil(timeout: .seconds(5)) { (podCounters(old)["server"]?["open"] as? Int ?? 0) >= 1 })

        // The new Zest: its own CNI socket (same pods), same pod ports through SO_REUSEPORT.
        try node.startCNI(socket: 1)
        let new = try node.startZest(socket: 1, deadline: "4s")
        #expect(waitUntil(timeout: .seconds(20)) { new.readiness?.status == 200 && new.podStates.count == 2 },
                "\(new.process.output.suffix(800))")

        let loop = try ChildProcess(["python3", NodeFixture.probe, "loop", server.ip, "8080", "7", "0.02"],
                                    netns: client.netns.name, outputPath: node.dir.path + "/loop.log")
        defer { loop.stop(grace: .milliseconds(200)) }
        Thread.sleep(forTimeInterval: 1)
        let newBefore = new.metric("istio_tcp_connections_opened_total", ["reporter": "destination"])
        let termAt = ContinuousClock.now
        old.process.terminate(SIGTERM)

        // During the drain the old connection keeps flowing.
        Thread.sleep(forTimeInterval: 1)
        held.send(line: "during-drain")
        #expect(waitUntil(timeout: .seconds(2)) { held.output.contains("echo during-drain") }, "\(held.output)")

        #expect(old.process.wait(timeout: .seconds(15)) == 0, "\(old.process.output.suffix(800))")
        let drained = ContinuousClock.now - termAt
        #expect(drained >= .milliseconds(3500), "the old Zest waited for its connection until the deadline: \(drained)")
        #expect(drained < .seconds(8))
        // At the deadline the old Zest closed what was left, cleanly.
        held.send(line: "after-deadline")
        #expect(waitUntil(timeout: .seconds(5)) { held.output.contains("closed") || !held.isRunning }, "\(held.output)")

        #expect(loop.wait(timeout: .seconds(15)) == 0)
        let summary = loop.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(summary.hasPrefix("ok=") && !summary.contains(" "), "every attempt succeeded: \(summary)")
        #expect(new.metric("istio_tcp_connections_opened_total", ["reporter": "destination"]) > newBefore + 20,
                "new connections land on the new Zest")
        #expect(old.process.output.contains("drained; exiting"))
        print("hand-off: old Zest drained for \(drained); client loop during the hand-off: \(summary)")
    }
}
