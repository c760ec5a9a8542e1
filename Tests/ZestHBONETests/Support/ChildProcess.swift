import Foundation
import ZestTestSupport

/// A long-running helper process (Envoy, a backend) started for one test and stopped by its
/// own pid in `stop()`. Output goes to a log file the test can print on failure.
final class ChildProcess {
    let process = Process()
    let logPath: String

    init(_ argv: [String], log: String) throws {
        logPath = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM, then SIGKILL if the process lingers; waits for it.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        if !waitUntil(timeout: .seconds(5), { !process.isRunning }) {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}

/// Where the test fixtures and the Python/Envoy virtual environment are.
enum TestPaths {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/hbone").path
    static var envoy: String { PackagePaths.envoy }
    static var python: String { PackagePaths.python }
    /// The `zest` executable `swift build --build-tests` produced next to the test bundle.
    static var zest: String { PackagePaths.zest ?? PackagePaths.root + "/.build/debug/zest" }

    /// A fresh scratch directory for one test.
    static func scratch(_ label: String) throws -> String {
        let dir = NSTemporaryDirectory() + "zest-hbone-\(label)-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
