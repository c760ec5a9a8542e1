import Glibc
import Testing
import ZestNode
import ZestTestSupport

@Suite("SOCK_SEQPACKET transport")
struct SeqpacketSocketTests {
    @Test func datagramsKeepTheirBoundariesAndCarryDescriptors() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let listener = try ZdsServer(path: dir.socketPath)
        let client = try SeqpacketSocket.connect(path: dir.socketPath)
        let server = try #require(try listener.accept(until: deadline()))

        let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
        try client.send([1, 2, 3], descriptors: [netns.file.descriptor.rawValue])
        try client.send([4, 5])
        guard case .datagram(let first) = try server.socket.receive(until: deadline()),
              case .datagram(let second) = try server.socket.receive(until: deadline()) else {
            Issue.record("expected two datagrams")
            return
        }
        #expect(first.bytes == [1, 2, 3])
        #expect(first.descriptors.count == 1)
        #expect(second.bytes == [4, 5])
        #expect(second.descriptors.isEmpty)
        // The received descriptor is a different number for the same namespace.
        let received = try NetNamespaceHandle(try #require(first.descriptors.first))
        #expect(received.identity == netns.identity)
        #expect(received.file.descriptor != netns.file.descriptor)
        #expect(fcntl(received.file.descriptor.rawValue, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func oversizedDatagramIsFlaggedTruncated() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let listener = try ZdsServer(path: dir.socketPath)
        let client = try SeqpacketSocket.connect(path: dir.socketPath)
        let server = try #require(try listener.accept(until: deadline()))
        try client.send([UInt8](repeating: 7, count: SeqpacketSocket.maxDatagram + 10))
        guard case .datagram(let d) = try server.socket.receive(until: deadline()) else {
            Issue.record("expected a datagram")
            return
        }
        #expect(d.truncated)
        #expect(d.bytes.count == SeqpacketSocket.maxDatagram)
    }

    @Test func peerCloseAndTimeoutAreDistinguished() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let listener = try ZdsServer(path: dir.socketPath)
        let client = try SeqpacketSocket.connect(path: dir.socketPath)
        let server = try #require(try listener.accept(until: deadline()))
        guard case .timedOut = try server.socket.receive(until: .now + .milliseconds(20)) else {
            Issue.record("expected a timeout")
            return
        }
        client.file.close()
        guard case .closed = try server.socket.receive(until: deadline()) else {
            Issue.record("expected the close to be seen")
            return
        }
    }

    @Test func stopSignalReleasesABlockedReceive() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let listener = try ZdsServer(path: dir.socketPath)
        let stop = StopSignal()
        stop.stop()
        #expect(try listener.accept(until: nil, stop: stop) == nil)
    }

    @Test func connectingWhereNothingListensExplainsWhatToStart() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        #expect {
            _ = try SeqpacketSocket.connect(path: dir.socketPath)
        } throws: { error in
            "\(error)".contains("is istio-cni or `zest cni serve` running")
        }
    }

    @Test func overlongSocketPathIsRejected() {
        #expect(throws: ZdsSocketError.self) {
            _ = try SeqpacketSocket.connect(path: "/tmp/" + String(repeating: "x", count: 200))
        }
    }

    @Test func aRegularFileIsNotANetworkNamespace() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let file = dir.path + "/plain"
        try runChecked(["touch", file])
        #expect(throws: NetNamespaceHandle.Error.notANamespace) {
            _ = try NetNamespaceHandle.open(path: file)
        }
        #expect(throws: NetNamespaceHandle.Error.notANetworkNamespace(type: 0x20000)) {
            _ = try NetNamespaceHandle.open(path: "/proc/self/ns/mnt")
        }
    }
}
