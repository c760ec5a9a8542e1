import Foundation
import Glibc
import ZestTestSupport

/// `tcpdump -w` on one interface of a test namespace, for checking what crossed the wire.
final class PacketCapture {
    private let process: NamespacedProcess
    private let file: String

    /// Starts capturing TCP on `interface` inside `ns` and waits until tcpdump reports it listens.
    init(_ ns: TestNamespace, interface: String) throws {
        let base = NSTemporaryDirectory() + "zest-capture-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        file = base + ".pcap"
        process = try NamespacedProcess(in: ns, ["/usr/bin/tcpdump", "-i", interface, "-U", "-s", "0", "-w", file, "tcp"],
                                        log: base + ".log")
        // tcpdump prints "listening on <if>" once the capture is armed.
        let armed = waitUntil(timeout: .seconds(10), poll: .milliseconds(10)) { process.output.contains("listening on") }
        guard armed else {
            let text = process.output
            _ = stop()
            throw TopologyError("tcpdump did not start: \(text)")
        }
    }

    /// Stops tcpdump (SIGINT flushes the file) and returns the captured bytes.
    @discardableResult
    func stop() -> [UInt8] {
        process.stop(SIGINT)
        defer {
            unlink(file)
            unlink(process.logPath)
        }
        return (FileManager.default.contents(atPath: file).map { [UInt8]($0) }) ?? []
    }
}
extension Array where Element == UInt8 {
    /// Whether `needle` occurs anywhere in these bytes.
    func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        let first = needle[0]
        var i = 0
        while i <= count - needle.count {
            if self[i] == first, Array(self[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}
