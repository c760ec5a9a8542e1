import Glibc
import Testing
import ZestCore
@testable import ZestTLS

/// Read-ahead (TLSSettings.readAheadBytes): OpenSSL pulls many records per read(2) into its own
/// buffer, so the kernel can report nothing readable while records still wait in user space.
/// An edge-triggered reader must read until `.wantRead`; these tests pin that behaviour down.
@Suite struct ReadAheadTests {
    /// A handshaken pair over a socketpair; keep `sockets` alive while the connections are used.
    private func pair(readAhead: Int) throws -> (client: TLSConnection, server: TLSConnection, sockets: SocketPair) {
        let pki = try ZestPKI()
        let settings = TLSSettings(readAheadBytes: readAhead)
        let serverCtx = try TLSContext(role: .server, certificate: pki.issue(ZestPKI.server), settings: settings)
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client), settings: settings)
        let sockets = SocketPair()
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: serverCtx, fd: sockets.b)
        #expect(handshake(client, server) == (.completed, .completed))
        return (client, server, sockets)
    }

    private func kernelHasInput(_ fd: FileDescriptor) -> Bool {
        var p = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// Eight records go in one write; one 16 KiB `SSL_read` empties the socket, and the other
    /// records still come out of OpenSSL, in order, without the kernel reporting input.
    @Test func oneReadPullsManyRecordsAndTheRestArriveWithoutAnotherEdge() throws {
        let (client, server, sockets) = try pair(readAhead: 256 << 10)
        defer { withExtendedLifetime(sockets) {} }
        let payload = (0..<(8 * 16_384)).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ $0 >> 10) }
        #expect(writeAll(client, payload))
        var buffer = [UInt8](repeating: 0, count: 16_384)
        waitFor(.wantRead, on: server.fd, ms: 1000)
        var received: [UInt8] = []
        guard case .done(let first) = try buffer.withUnsafeMutableBytes({ try server.read(into: $0) }) else {
            Issue.record("the first read returned no data")
            return
        }
        received += buffer[0..<first]
        #expect(!kernelHasInput(server.fd), "read-ahead should have taken every record from the socket")
        while case .done(let n) = try buffer.withUnsafeMutableBytes({ try server.read(into: $0) }), n > 0 {
            received += buffer[0..<n]
        }
        #expect(received == payload)
    }

    /// Edge-triggered driving: after a short read the connection does not ask the kernel again
    /// (the call would only say EAGAIN) until the driver reports input. Input that arrives in
    /// between waits in the socket, and comes out, whole, once the event is reported.
    @Test func aDrainedSocketIsNotReadAgainUntilReportedReadable() throws {
        let (client, server, sockets) = try pair(readAhead: 256 << 10)
        defer { withExtendedLifetime(sockets) {} }
        server.skipsReadsWhenDrained = true
        var buffer = [UInt8](repeating: 0, count: 16_384)
        #expect(writeAll(client, [1, 2, 3]))
        waitFor(.wantRead, on: server.fd, ms: 1000)
        server.socketBecameReadable()
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .done(3))
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .wantRead)

        #expect(writeAll(client, [4, 5]))
        waitFor(.wantRead, on: server.fd, ms: 1000)
        #expect(kernelHasInput(server.fd))
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .wantRead,
                "a drained socket must not be read before the driver reports it readable")
        #expect(kernelHasInput(server.fd))
        server.socketBecameReadable()
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .done(2))
        #expect(buffer[0..<2] == [4, 5])

        // Off again (the default), every read asks the kernel.
        server.skipsReadsWhenDrained = false
        #expect(writeAll(client, [6]))
        waitFor(.wantRead, on: server.fd, ms: 1000)
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .done(1))
    }

    /// Without read-ahead OpenSSL reads one record at a time: the socket still holds the rest.
    @Test func withoutReadAheadTheSocketKeepsTheUnreadRecords() throws {
        let (client, server, sockets) = try pair(readAhead: 0)
        defer { withExtendedLifetime(sockets) {} }
        #expect(writeAll(client, [UInt8](repeating: 5, count: 4 * 16_384)))
        var buffer = [UInt8](repeating: 0, count: 16_384)
        waitFor(.wantRead, on: server.fd, ms: 1000)
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == .done(16_384))
        #expect(kernelHasInput(server.fd))
    }

    /// A megabyte in uneven writes, then close_notify: every byte arrives in order before `.closed`.
    @Test func bulkDataThenCloseNotifyArriveInOrder() throws {
        let (client, server, sockets) = try pair(readAhead: 256 << 10)
        defer { withExtendedLifetime(sockets) {} }
        let payload = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 12) }
        var sent = 0
        var shutdownSent = false
        var closed = false
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock().now + .seconds(20)
        while !closed && ContinuousClock().now < deadline {
            if sent < payload.count {
                let end = min(sent + 37_000, payload.count)
                if case .done(let n) = try payload[sent..<end].withUnsafeBytes({ try client.write(from: $0) }) { sent += n }
            } else if !shutdownSent {
                shutdownSent = try client.shutdown() == .closed
            }
            switch try buffer.withUnsafeMutableBytes({ try server.read(into: $0) }) {
            case .done(let n): received += buffer[0..<n]
            case .closed: closed = true
            case .wantRead, .wantWrite: waitFor(.wantRead, on: server.fd, ms: 2)
            }
        }
        #expect(closed, "close_notify must follow the data")
        #expect(received == payload)
    }
}
