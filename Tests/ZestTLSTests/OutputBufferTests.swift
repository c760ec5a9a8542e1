import Glibc
import Testing
import ZestCore
@testable import ZestTLS

/// The connection's output buffer: records gathered by unflushed writes, sent by `flush()`,
/// kept in order across a full socket, and followed (never overtaken) by close_notify.
@Suite struct OutputBufferTests {
    /// A handshaken client/server pair over a socketpair whose client send buffer is `sendBuffer` bytes.
    /// Keep `sockets` alive for the whole test: its deinit closes both descriptors.
    private func pair(sendBuffer: Int32? = nil, settings: TLSSettings = TLSSettings())
        throws -> (client: TLSConnection, server: TLSConnection, sockets: SocketPair) {
        let pki = try ZestPKI()
        let serverCtx = try TLSContext(role: .server, certificate: pki.issue(ZestPKI.server), settings: settings)
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client), settings: settings)
        let sockets = SocketPair()
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: serverCtx, fd: sockets.b)
        #expect(handshake(client, server) == (.completed, .completed))
        if var size = sendBuffer {
            #expect(setsockopt(sockets.a.rawValue, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0)
        }
        return (client, server, sockets)
    }

    private func bytesWaiting(on fd: FileDescriptor) -> Int {
        var p = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
        return Int(poll(&p, 1, 0))
    }

    @Test func unflushedWritesStayInTheBufferUntilFlushThenArriveTogether() throws {
        let (client, server, sockets) = try pair()
        defer { withExtendedLifetime(sockets) {} }
        let frames = (0..<6).map { i in [UInt8](repeating: UInt8(i + 1), count: 100 + i) }
        for f in frames {
            #expect(try f.withUnsafeBytes { try client.write(from: $0, flush: false) } == .done(f.count))
        }
        #expect(client.hasPendingOutput)
        #expect(bytesWaiting(on: server.fd) == 0, "unflushed records must not reach the socket")
        #expect(try client.flush() == .done(0))
        #expect(!client.hasPendingOutput)
        let total = frames.reduce(0) { $0 + $1.count }
        #expect(readSome(server, count: total) == .data(frames.flatMap { $0 }))
    }

    @Test func fullSocketKeepsOrderThroughPartialFlushesAndCloseNotifyComesLast() throws {
        let (client, server, sockets) = try pair(sendBuffer: 8192)
        defer { withExtendedLifetime(sockets) {} }
        let payload = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) }
        var sent = 0
        var sawBlockedFlush = false
        var sawWantWrite = false
        var shutdownDone = false
        var received: [UInt8] = []
        var closedByPeer = false
        var buffer = [UInt8](repeating: 0, count: 40_000)
        let deadline = ContinuousClock().now + .seconds(20)
        while !closedByPeer && ContinuousClock().now < deadline {
            // Writer: unflushed writes of odd sizes, then a flush per batch; close_notify once all is taken.
            if sent < payload.count {
                for _ in 0..<4 where sent < payload.count {
                    let end = min(sent + 9_001, payload.count)
                    let r = try payload[sent..<end].withUnsafeBytes { try client.write(from: $0, flush: false) }
                    if case .done(let n) = r { sent += n } else { sawWantWrite = true; break }
                }
                if try client.flush() == .wantWrite { sawBlockedFlush = true }
            } else if !shutdownDone {
                shutdownDone = try client.shutdown() == .closed
                if shutdownDone { #expect(!client.hasPendingOutput) }
            }
            // Reader: a slow one, one read per turn.
            switch try buffer.withUnsafeMutableBytes({ try server.read(into: $0) }) {
            case .done(let n): received += buffer[0..<n]
            case .closed: closedByPeer = true
            case .wantRead, .wantWrite: waitFor(.wantRead, on: server.fd, ms: 2)
            }
        }
        #expect(sawBlockedFlush && sawWantWrite, "the test must exercise a full socket")
        #expect(closedByPeer, "close_notify must arrive after the data")
        #expect(received.count == payload.count)
        #expect(received == payload)
    }

    @Test func unbufferedSettingSendsEachRecordAtOnce() throws {
        var settings = TLSSettings()
        settings.outputBufferBytes = 0
        let (client, server, sockets) = try pair(settings: settings)
        defer { withExtendedLifetime(sockets) {} }
        let bytes = [UInt8](repeating: 9, count: 500)
        #expect(try bytes.withUnsafeBytes { try client.write(from: $0, flush: false) } == .done(500))
        #expect(!client.hasPendingOutput)
        #expect(readSome(server, count: 500) == .data(bytes))
    }

    @Test func readAheadDeliversEveryByteInOrder() throws {
        var settings = TLSSettings()
        settings.readAheadBytes = 256 << 10
        let (client, server, sockets) = try pair(settings: settings)
        defer { withExtendedLifetime(sockets) {} }
        let payload = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var sent = 0
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock().now + .seconds(20)
        while received.count < payload.count && ContinuousClock().now < deadline {
            if sent < payload.count {
                let end = min(sent + 50_000, payload.count)
                if case .done(let n) = try payload[sent..<end].withUnsafeBytes({ try client.write(from: $0) }) { sent += n }
            }
            let r = try buffer.withUnsafeMutableBytes { try server.read(into: $0) }
            if case .done(let n) = r { received += buffer[0..<n] } else { waitFor(.wantRead, on: server.fd, ms: 2) }
        }
        #expect(received == payload)
    }

    @Test func sendErrorAfterThePeerLeftEndsTheConnectionWithoutCrashing() throws {
        let (client, server, sockets) = try pair()
        defer { withExtendedLifetime(sockets) {} }
        defer { withExtendedLifetime(server) {} }
        shutdown(sockets.b.rawValue, Int32(SHUT_RDWR))
        let bytes = [UInt8](repeating: 1, count: 70_000)
        var outcome: TLSProgress?
        var failed = false
        for _ in 0..<10 {
            do {
                outcome = try bytes.withUnsafeBytes { try client.write(from: $0) }
                if outcome == .closed { break }
                if client.hasPendingOutput, try client.flush() == .closed { outcome = .closed; break }
            } catch {
                failed = true
                break
            }
        }
        #expect(outcome == .closed || failed)
    }
}
