import Dispatch
import Synchronization
import ZestReactor

/// The bytes the demo sends: a fixed pseudo-random block repeated, so the receiver can check
/// every byte without keeping what was sent.
struct DemoPattern: Sendable {
    let block: [UInt8]

    init(size: Int) {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: size)
        for i in 0..<size {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
        block = bytes
    }

    /// Reads `total` bytes and compares each with the pattern. Returns how many matched before
    /// the stream ended; throws on a mismatch or a read error.
    func readAndVerify(from socket: Socket, total: Int) throws -> Int {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        var received = 0
        while received < total {
            guard case .processed(let n) = try socket.read(into: buffer.baseAddress!, count: min(buffer.count, total - received)),
                  n > 0 else { break }
            for i in 0..<n where buffer[i] != block[(received + i) % block.count] {
                throw DemoFailure(text: "byte \(received + i) differs from what was sent")
            }
            received += n
        }
        return received
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}

/// Sends the pattern on its own thread, then half-closes (FIN), so the echo ends too.
final class DemoWriter: Sendable {
    private let fd: FileDescriptorBox
    private let pattern: DemoPattern
    private let total: Int
    private let done = DispatchSemaphore(value: 0)
    private let error = Mutex<String?>(nil)

    init(client: Socket, pattern: DemoPattern, total: Int) {
        fd = FileDescriptorBox(client)
        self.pattern = pattern
        self.total = total
    }

    func start() {
        DispatchQueue.global().async { [self] in
            do {
                var sent = 0
                try pattern.block.withUnsafeBytes { block in
                    while sent < total {
                        let n = min(block.count, total - sent)
                        try fd.socket.writeAll(block.baseAddress!, count: n)
                        sent += n
                    }
                }
                try fd.socket.shutdownWrite()
            } catch {
                self.error.withLock { $0 = "\(error)" }
            }
            done.signal()
        }
    }

    func finish() -> String? {
        done.wait()
        return error.withLock { $0 }
    }
}

/// Lets the writer thread use the client socket while the main thread reads it: a blocking
/// socket is full-duplex, and the main thread closes it only after the writer finished.
final class FileDescriptorBox: @unchecked Sendable {
    let socket: Socket
    init(_ socket: Socket) { self.socket = socket }
}
