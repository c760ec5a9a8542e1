import Foundation
import Glibc

/// A long-running program a test starts (a `zest` process, a pod's app), with its output
/// in a file. Stopped by its own process id, never by name: `terminate` sends a signal,
/// `stop` ends it for sure (SIGKILL after a grace period) and reaps it.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let outputPath: String
    private let process: Process
    private var stdinPipe: Pipe?

    /// Starts `argv` (first element is a path or looked up on PATH), optionally inside the
    /// network namespace `netns` (through `ip netns exec`, which execs: the PID stays the
    /// program's). stdout and stderr go to `outputPath`. With `stdin`, the test can write
    /// lines to the program.
    public init(_ argv: [String], netns: String? = nil, environment: [String: String] = [:],
                outputPath: String, stdin: Bool = false) throws {
        let full = (netns.map { ["ip", "netns", "exec", $0] } ?? []) + argv
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = full
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        p.standardOutput = out
        p.standardError = out
        if stdin {
            let pipe = Pipe()
            p.standardInput = pipe
            stdinPipe = pipe
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        try p.run()
        try? out.close()
        process = p
        pid = p.processIdentifier
        self.outputPath = outputPath
    }

    public var isRunning: Bool { process.isRunning }

    /// Everything the program wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Writes one line to the program's stdin.
    public func send(line: String) {
        stdinPipe?.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Sends `signal` to the process (kill(2) by pid).
    public func terminate(_ signal: Int32 = SIGTERM) {
        if process.isRunning { kill(pid, signal) }
    }

    /// Waits up to `timeout` for the process to exit; returns its status, nil if still running.
    @discardableResult
    public func wait(timeout: Duration) -> Int32? {
        guard waitUntil(timeout: timeout, poll: .milliseconds(10), { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL after `grace`, then reaps. Safe to call twice.
    public func stop(grace: Duration = .seconds(3)) {
        terminate(SIGTERM)
        if wait(timeout: grace) == nil {
            terminate(SIGKILL)
            _ = wait(timeout: .seconds(10))
        }
        try? stdinPipe?.fileHandleForWriting.close()
    }
}
