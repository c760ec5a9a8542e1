import Foundation
import Synchronization
import ZestTestSupport

/// An `openssl s_server` or `s_client` subprocess whose stdin stays open (so it does not
/// hang up early) and whose stdout and stderr are collected as they arrive.
final class OpenSSLPeer: Sendable {
    private let process: Process
    private let stdinPipe: Pipe
    private let output = OutputBuffer()

    /// Starts `openssl` with `arguments` and writes `input` to its stdin.
    init(_ arguments: [String], input: String) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        stdinPipe = Pipe()
        let out = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = out
        process.standardError = out
        out.fileHandleForReading.readabilityHandler = { [output] h in
            let data = h.availableData
            if !data.isEmpty { output.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        stdinPipe.fileHandleForWriting.write(Data(input.utf8))
    }

    /// Everything the process printed so far (stdout and stderr interleaved).
    var text: String { output.text }

    /// The port from s_server's `ACCEPT 127.0.0.1:<port>` line, waiting for it to appear.
    func acceptPort(timeout: Duration = .seconds(10)) -> UInt16? {
        var port: UInt16?
        waitUntil(timeout: timeout) {
            let t = text
            guard let r = t.range(of: "ACCEPT 127.0.0.1:") else { return false }
            let digits = t[r.upperBound...].prefix { $0.isNumber }
            port = UInt16(digits)
            return port != nil
        }
        return port
    }

    /// The alert number OpenSSL reported receiving ("SSL alert number N"), if any.
    var alertReceived: Int? {
        guard let r = text.range(of: "SSL alert number ") else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }

    var isRunning: Bool { process.isRunning }

    /// Stops the process (SIGTERM to its pid) and waits for it.
    func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// Text collected from a subprocess's pipes on Foundation's reader thread.
final class OutputBuffer: Sendable {
    private let storage = Mutex("")
    func append(_ s: String) { storage.withLock { $0 += s } }
    var text: String { storage.withLock { $0 } }
}
