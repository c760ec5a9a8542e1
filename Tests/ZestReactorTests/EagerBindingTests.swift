import Foundation
import Glibc
import Testing
import ZestTestSupport

/// `EagerBinding.reexecOnce()` as `zest tunnel-server` runs it: it replaces its own image, so
/// it is observed from outside, on the real executable.
@Suite struct EagerBindingTests {
    /// The process that ends up listening is the same process id, started (its initial
    /// environment, /proc/<pid>/environ) with LD_BIND_NOW and the re-exec marker, with the
    /// same arguments — re-executed exactly once, not looping, and serving.
    @Test func tunnelServerRunsItselfAgainOnceWithEagerBindingAndServes() throws {
        let binary = PackagePaths.zest ?? PackagePaths.root + "/.build/debug/zest"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the zest product first: \(binary)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zest-eager-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try runChecked([binary, "ca", "issue", "--state-dir", dir + "/ca", "--identity", "spiffe://cluster.local/ns/t/sa/server",
                            "--out-dir", dir + "/server"])
        let argv = [binary, "tunnel-server", "--listen", "127.0.0.1:0", "--cert", dir + "/server/cert.pem",
                    "--key", dir + "/server/key.pem", "--ca", dir + "/server/root.pem", "--workers", "1"]
        let server = try ChildProcess(argv, outputPath: dir + "/server.log")
        defer { server.stop() }
        #expect(waitUntil(timeout: .seconds(20)) { server.output.contains("listening on") }, "\(server.output)")
        let environment = try #require(Self.procStrings(server.pid, "environ"))
        #expect(environment.contains("LD_BIND_NOW=1"))
        #expect(environment.contains("ZEST_BIND_NOW_REEXEC=1"))
        #expect(try #require(Self.procStrings(server.pid, "cmdline")) == argv)
        #expect(server.output.components(separatedBy: "listening on").count == 2, "one start-up message: \(server.output)")
        #expect(server.isRunning)
    }

    /// The NUL-separated strings of /proc/<pid>/<file>.
    static func procStrings(_ pid: pid_t, _ file: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/\(file)") else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
