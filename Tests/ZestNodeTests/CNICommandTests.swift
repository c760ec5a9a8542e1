import Foundation
import Glibc
import Testing
import ZestNode
import ZestTestSupport

/// The `zest cni` executable, run as separate processes, enrolling into a ZDS client.
@Suite("zest cni command")
struct CNICommandTests {
    /// The `zest` executable SwiftPM built beside this test bundle.
    static var zestBinary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("zest").path
    }

    @Test func serveAddAndDelDriveEnrollmentEndToEnd() throws {
        let binary = Self.zestBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the zest product first: \(binary)")
        let dir = TempDirectory()
        defer { dir.destroy() }
        let podsDir = dir.path + "/pods"

        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: binary)
        serve.arguments = ["cni", "serve", "--socket", dir.socketPath, "--pods-dir", podsDir, "--scan-interval-ms", "20"]
        let output = Pipe()
        serve.standardOutput = output
        try serve.run()
        defer {
            if serve.isRunning { kill(serve.processIdentifier, SIGKILL) }
            serve.waitUntilExit()
        }

        let delegate = RecordingDelegate()
        let client = makeClient(dir.socketPath, delegate: delegate)
        client.start()
        defer { client.stop() }
        #expect(waitUntil(timeout: .seconds(10)) { client.status.isReady })

        let added = try runChecked([binary, "cni", "add", "--pods-dir", podsDir, "--netns", "/proc/self/ns/net",
                                    "--name", "web-0", "--namespace", "shop", "--service-account", "web", "--uid", "uid-1"])
        #expect(added.hasPrefix("uid-1 \(podsDir)/uid-1.yaml"))
        #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled[PodUID("uid-1")] != nil })
        #expect(client.status.enrolled[PodUID("uid-1")] == WorkloadInfo(name: "web-0", namespace: "shop", serviceAccount: "web"))

        try runChecked([binary, "cni", "del", "--pods-dir", podsDir, "--uid", "uid-1"])
        #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled.isEmpty })
        #expect(delegate.events == ["snapshot", "enroll uid-1 shop/web-0/web", "remove uid-1"])

        let missing = try runCommand([binary, "cni", "add", "--pods-dir", podsDir, "--netns", dir.path + "/nope",
                                      "--name", "x", "--namespace", "y"])
        #expect(!missing.succeeded)
        #expect(missing.stderr.contains("cannot open network namespace"))

        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("SnapshotSent: ACK"))
        #expect(log.contains("AddWorkload uid-1 shop/web-0 (service account web): ACK"))
        #expect(log.contains("DelWorkload uid-1: ACK"))
    }
}
