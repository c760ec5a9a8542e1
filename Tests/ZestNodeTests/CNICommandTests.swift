import Foundation
import Glibc
import Testing
import ZestNode
import ZestTestSupport

/// The `zest cni` executable, run as separate processes, enrolling into a ZDS client.
@Suite("zest cni command")
struct CNICommandTests {
    /// The `zest` executable SwiftPM built beside this test bundle.
    static var zestBinary: String { PackagePaths.zest ?? PackagePaths.root + "/.build/debug/zest" }

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
                                    "--name", "web-0", "--namespace", "shop", "--service-account", "web", "--uid", "uid-1",
                                    "--wait", "10"])
        #expect(added == "uid-1 \(podsDir)/uid-1.yaml\nACK\n")
        #expect(client.status.enrolled[PodUID("uid-1")] != nil)

        delegate.failNext(1)
        let refused = try runCommand([binary, "cni", "add", "--pods-dir", podsDir, "--netns", "/proc/self/ns/net",
                                      "--name", "db-0", "--namespace", "shop", "--uid", "uid-2", "--wait", "10"])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("NACK enrolling uid-2 (shop/db-0 (service account default)) failed: listener port 15008 still held"))
        try runChecked([binary, "cni", "del", "--pods-dir", podsDir, "--uid", "uid-2"])
        #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled[PodUID("uid-2")] == nil && client.status.pending.isEmpty })
        #expect(client.status.enrolled[PodUID("uid-1")] == WorkloadInfo(name: "web-0", namespace: "shop", serviceAccount: "web"))

        try runChecked([binary, "cni", "del", "--pods-dir", podsDir, "--uid", "uid-1"])
        #expect(waitUntil(timeout: .seconds(5)) { client.status.enrolled.isEmpty })
        #expect(delegate.events.first == "snapshot" && delegate.events.last == "remove uid-1")
        #expect(delegate.count("enroll uid-1 shop/web-0/web") == 1 && delegate.count("fail uid-2") == 1)

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

    @Test func repeatedEnrollCyclesAndAServerRestartLeaveNoDescriptorBehind() throws {
        let binary = Self.zestBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the zest product first: \(binary)")
        let dir = TempDirectory()
        defer { dir.destroy() }
        let pods = PodDirectory(path: dir.path + "/pods")
        let serveArgs = ["cni", "serve", "--socket", dir.socketPath, "--pods-dir", pods.path, "--scan-interval-ms", "20"]
        var serve = try CNIChildProcess(binary, serveArgs, log: dir.path + "/serve.log")
        defer { serve.stop() }
        let monitor = try CNIChildProcess(binary, ["cni", "monitor", "--socket", dir.socketPath], log: dir.path + "/monitor.log")
        defer { monitor.stop() }
        #expect(waitUntil(timeout: .seconds(10)) { monitor.output.contains("snapshot complete: 0 pods") })
        let baseline = monitor.openDescriptorCount
        var serveBaseline = serve.openDescriptorCount
        let podsPerCycle = 10

        for cycle in 0..<10 {
            if cycle == 5 {
                serve.stop()
                #expect(waitUntil(timeout: .seconds(10)) { monitor.output.contains("the CNI agent closed the ZDS connection") })
                serve = try CNIChildProcess(binary, serveArgs, log: dir.path + "/serve2.log")
                #expect(waitUntil(timeout: .seconds(10)) { serve.output.contains("SnapshotSent: ACK") })
                #expect(monitor.openDescriptorCount == baseline, "the old connection's socket was not closed")
                serveBaseline = serve.openDescriptorCount
            }
            for i in 0..<podsPerCycle {
                try pods.write(PodFile(uid: PodUID("c\(cycle)-\(i)"), info: info("p\(i)"), netnsPath: "/proc/self/ns/net"))
            }
            #expect(waitUntil(timeout: .seconds(10)) { monitor.openDescriptorCount == baseline + podsPerCycle },
                    "cycle \(cycle): the node proxy should hold one netns descriptor per pod")
            for i in 0..<podsPerCycle { pods.remove(uid: PodUID("c\(cycle)-\(i)")) }
            #expect(waitUntil(timeout: .seconds(10)) { monitor.openDescriptorCount == baseline },
                    "cycle \(cycle): descriptors left after removing every pod")
        }
        #expect(serve.openDescriptorCount == serveBaseline, "the CNI side must close each netns it opened")
        #expect(monitor.output.components(separatedBy: "enroll c").count - 1 == 10 * podsPerCycle)
        #expect(!monitor.output.contains("NACK"))
    }
}

/// A `zest` child process with its output in a file, stopped by SIGTERM (then SIGKILL).
struct CNIChildProcess {
    let process = Process()
    let logPath: String

    init(_ binary: String, _ arguments: [String], log: String) throws {
        logPath = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var openDescriptorCount: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? -1
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        if !waitUntil(timeout: .seconds(5), { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
