import Foundation

/// Result of running an external command to completion.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var succeeded: Bool { status == 0 }
}

/// Runs `argv` (first element looked up on PATH), waits for it, and captures its output.
@discardableResult
public func runCommand(_ argv: [String], input: String? = nil) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let inPipe = Pipe()
    p.standardInput = inPipe
    try p.run()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try? inPipe.fileHandleForWriting.close()
    // Read both pipes before waiting so a chatty child cannot block on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return CommandResult(status: p.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs a command and throws with its stderr when it fails.
@discardableResult
public func runChecked(_ argv: [String], input: String? = nil) throws -> String {
    let r = try runCommand(argv, input: input)
    guard r.succeeded else { throw CommandFailure(argv: argv, result: r) }
    return r.stdout
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let argv: [String]
    public let result: CommandResult
    public var description: String {
        "`\(argv.joined(separator: " "))` exited \(result.status): \(result.stderr)\(result.stdout)"
    }
}
