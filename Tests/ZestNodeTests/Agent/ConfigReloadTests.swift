import Foundation
import Glibc
import Testing
import ZestTestSupport

/// A change to the LOCAL_XDS_PATH files is published to running pods: new connections get
/// the new policy and open ones it now denies are closed; a broken change is ignored.
@Suite("zest run: configuration reload", .serialized)
struct ConfigReloadTests {
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func policyChangeInTheWatchedFileAppliesToNewAndOpenConnections() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        let client = try node.addPod("client", namespace: "shop", serviceAccount: "web")
        let server = try node.addPod("server", namespace: "shop", serviceAccount: "api")
        try node.startApp(in: server)
        try node.startCNI()
        let zest = try node.startZest()
        try node.enroll(client)
        try node.enroll(server)
        #expect(waitUntil(timeout: .seconds(20)) { zest.podStates.count == 2 }, "\(zest.process.output.suffix(800))")
        #expect(node.connect(from: client, to: server.ip).ok)
        let held = try ChildProcess(["python3", NodeFixture.probe, "hold", server.ip, "8080"], netns: client.netns.name,
                                    outputPath: node.dir.path + "/held.log", stdin: true)
        defer { held.stop(grace: .milliseconds(200)) }
        #expect(waitUntil(timeout: .seconds(10)) { held.output.contains("greeting") })

        // A broken file changes nothing.
        node.extraConfig = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec: [\n"
        try node.writeMesh()
        #expect(waitUntil(timeout: .seconds(10)) { zest.process.output.contains("configuration change rejected") })
        #expect(node.connect(from: client, to: server.ip).ok)

        // Deny everything in the server's namespace.
        node.extraConfig = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata:
              name: deny-all
              namespace: shop
            spec: {}

            """
        try node.writeMesh()
        #expect(waitUntil(timeout: .seconds(10)) { zest.process.output.contains("configuration reloaded and published") })
        #expect(waitUntil(timeout: .seconds(10)) { !node.connect(from: client, to: server.ip).ok })
        held.send(line: "denied-now")
        #expect(waitUntil(timeout: .seconds(5)) { held.output.contains("closed") || !held.isRunning }, "\(held.output)")
        #expect(!held.output.contains("echo denied-now"))
        #expect(zest.metric("istio_tcp_connections_opened_total",
                            ["reporter": "destination", "destination_workload": "server", "response_flags": "DENY"]) >= 1)
    }
}
