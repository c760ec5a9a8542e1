import Glibc
import Testing
@testable import ZestProxy
import ZestReactor

/// How one copy direction moves bytes between two real loopback connections, driven by hand:
/// `writer → source` feeds the direction, `destination → reader` receives what it copied.
@Suite struct DirectionCopyTests {
    @Test(arguments: [CopyMode.adaptive, .buffered])
    func bulkDirectionSwitchesToSpliceOnlyWhenAdaptiveAndKeepsEveryByte(mode: CopyMode) throws {
        let (writer, source) = try connectedPair()
        let (destination, reader) = try connectedPair()
        try source.setBlocking(false)
        try destination.setBlocking(false)
        let pool = BufferPool(testPool)
        var copy = DirectionCopy(mode: mode, pipeCapacity: nil)
        defer { copy.release(pool) }
        let chunk = 96 << 10
        let total = 3 << 20
        var sent: [UInt8] = []
        var received: [UInt8] = []
        /// Bytes the direction had written when it switched to splice.
        var spliceStartedAt: Int?
        while sent.count < total {
            let bytes = (0..<chunk).map { UInt8(truncatingIfNeeded: (sent.count + $0) % 251) }
            try send(writer, bytes)
            sent += bytes
            while received.count < sent.count {
                let before = copy.bytes
                if case .failed(let e) = copy.pump(from: source, to: destination, pool: pool, trustShortRead: false) {
                    Issue.record("copy failed: \(e)")
                    return
                }
                if copy.isSpliced && spliceStartedAt == nil { spliceStartedAt = Int(before) }
                received += try readSome(reader, sent.count - received.count)
            }
        }
        #expect(received == sent)
        #expect(copy.bytes == UInt64(total))
        #expect(pool.stats.inUse == 0, "an idle direction holds no pool buffer")
        if mode == .adaptive {
            let at = try #require(spliceStartedAt, "an adaptive direction past 1 MiB splices")
            #expect(at >= Int(DirectionCopy.adaptiveThreshold))
            #expect(at < Int(DirectionCopy.adaptiveThreshold) + chunk)
        } else {
            #expect(spliceStartedAt == nil)
        }
    }

    private func connectedPair() throws -> (Socket, Socket) {
        let listener = try ListeningSocket(listeningOn: loopbackAny)
        let client = try connectClient(try listener.localAddress())
        return (client, try acceptBlocking(listener))
    }

    /// One blocking read (with the receive timeout) of at most `count` bytes.
    private func readSome(_ socket: Socket, _ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let r = try out.withUnsafeMutableBytes { try socket.read(into: $0.baseAddress!, count: count) }
        guard case .processed(let n) = r, n > 0 else { throw SyscallError("read", errno: ETIMEDOUT) }
        return Array(out[0..<n])
    }
}
