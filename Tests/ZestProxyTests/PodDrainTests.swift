import Glibc
import Testing
import ZestCore
import ZestProxy
import ZestReactor
import ZestTestSupport

/// Drain: listeners close at once, open connections keep working until the deadline, then
/// they are closed.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodDrainTests {
    @Test func drainStopsAcceptingAtOnceAndClosesWhatIsLeftAtTheDeadline() throws {
        let t = try MeshTopology("drn")
        defer { t.destroy() }
        try t.startApp(in: t.podB)
        let appB = SocketAddress(ip: MeshTopology.bIP, port: MeshTopology.appPort)
        let (proxiesA, proxiesB) = try t.enrollBoth()
        defer { proxiesA.stop(); proxiesB.stop() }

        let open = try t.connect(from: t.aHandle, to: appB)
        _ = try EchoApp.greeting(open)
        proxiesB.drain(deadline: .seconds(2))

        #expect(throws: (any Error).self, "no listener takes new connections") {
            _ = try t.connect(from: t.nodeHandle, to: appB)
        }
        #expect(try roundTrip(open, "still-open"), "an open tunnel keeps working during the drain")
        let whileOpen = t.metrics.totals().filter { $0.key.reporter == .destination }.values
        #expect(whileOpen.contains { $0.opened == 1 && $0.closed == 0 && $0.receivedBytes == 10 },
                "byte counters advance while the connection is open")
        #expect(waitUntil(timeout: .seconds(6)) { proxiesB.counters().closedByShutdown == 1 })
        #expect(!(try roundTrip(open, "after-deadline")), "the deadline closed it")
        #expect(proxiesB.counters().open == 0)
    }

    /// Sends `text` and reads the same number of bytes back; false when the connection ended.
    private func roundTrip(_ socket: Socket, _ text: String) throws -> Bool {
        let bytes = Array(text.utf8)
        do {
            try bytes.withUnsafeBytes { try socket.writeAll($0.baseAddress!, count: $0.count) }
            var got: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: bytes.count)
            while got.count < bytes.count {
                let r = try buffer.withUnsafeMutableBytes { try socket.read(into: $0.baseAddress!, count: bytes.count - got.count) }
                guard case .processed(let n) = r, n > 0 else { return false }
                got += buffer[0..<n]
            }
            return got == bytes
        } catch {
            return false
        }
    }
}
