import Testing
import ZestCore
@testable import ZestHBONE

/// Stream limits, GOAWAY, keepalive and back-pressure of one HBONE connection.
@Suite struct ConnectionLifecycleTests {
    let target = SocketAddress("10.1.2.3:8080")!

    @Test func clientNeverExceedsItsCapOrThePeersLimit() throws {
        for (serverLimit, clientCap, expected) in [(3, 100, 3), (200, 5, 5)] {
            let delegate = TestServerDelegate()
            delegate.decide = { _ in nil }
            var server = HBONESettings.server
            server.maxConcurrentStreams = serverLimit
            var client = HBONESettings.client
            client.maxConcurrentStreams = clientCap
            let wire = try MemoryWire(delegate: delegate, client: client, server: server)
            #expect(wire.pump())  // exchange SETTINGS first
            #expect(wire.client.streamLimit == expected)
            var opened = 0
            while wire.client.hasCapacity {
                _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: TunnelEndpoint())
                opened += 1
            }
            #expect(opened == expected)
            #expect(throws: HBONEError.streamLimitReached(expected)) {
                try wire.client.openTunnel(ConnectRequest(target: target), handler: TunnelEndpoint())
            }
            #expect(wire.pump())
            #expect(delegate.pending.count == expected)
        }
    }

    @Test func goAwayStopsNewTunnelsWhileExistingOnesFinish() throws {
        let delegate = TestServerDelegate()
        let serverEnd = TunnelEndpoint(sending: [], finish: false)
        delegate.decide = { _ in .accept(serverEnd) }
        let wire = try MemoryWire(delegate: delegate)
        let clientEnd = TunnelEndpoint(sending: Array("ping".utf8))
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        wire.server.drain()
        #expect(wire.pump())
        #expect(wire.client.isGoingAway && !wire.client.hasCapacity)
        #expect(throws: HBONEError.goingAway) {
            try wire.client.openTunnel(ConnectRequest(target: target), handler: TunnelEndpoint())
        }
        serverEnd.send(Array("pong".utf8), finish: true)
        #expect(wire.pump())
        #expect(String(decoding: clientEnd.received, as: UTF8.self) == "pong")
        #expect(clientEnd.closed && clientEnd.closeError == nil)
    }

    @Test func aDrainedConnectionWithItsLastFramesStillQueuedClosesOnlyAfterTheyLeft() throws {
        let delegate = TestServerDelegate()
        let serverEnd = TunnelEndpoint(sending: [], finish: false)
        delegate.decide = { _ in .accept(serverEnd) }
        let wire = try MemoryWire(delegate: delegate)
        let clientEnd = TunnelEndpoint(sending: Array("request".utf8))
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        wire.server.drain()
        #expect(wire.pump())
        // The client stops reading: the server's last DATA and END_STREAM cannot leave yet.
        wire.serverSink.capacity = 0
        serverEnd.send(Array("the last answer".utf8), finish: true)
        #expect(!wire.server.isClosed, "closing now would send close_notify ahead of the tunnel's last bytes")
        wire.serverSink.capacity = Int.max
        wire.server.sinkDidDrain()
        #expect(wire.pump())
        #expect(String(decoding: clientEnd.received, as: UTF8.self) == "the last answer")
        #expect(clientEnd.receivedEnd && clientEnd.closed && clientEnd.closeError == nil)
        #expect(wire.server.isClosed, "the drained connection closes once its last frames went out")
    }

    @Test func keepalivePingsEveryIntervalAndClosesAfterTimeout() throws {
        let clock = ManualClock()
        let wire = try MemoryWire(delegate: TestServerDelegate(), clock: clock)
        #expect(wire.pump())
        clock.advance(.seconds(9))
        wire.client.tick()
        #expect(wire.clientSink.bytes.isEmpty, "no PING before 10 s")
        clock.advance(.seconds(1))
        wire.client.tick()
        #expect(wire.clientSink.bytes.count == 17, "one PING frame")
        #expect(wire.pump())   // the server answers
        clock.advance(.seconds(25))
        wire.client.tick()
        #expect(!wire.client.isClosed, "the answered PING does not time out")
        // The next PING goes unanswered.
        wire.clientSink.bytes.removeAll()
        clock.advance(.seconds(10))
        wire.client.tick()
        clock.advance(.seconds(20))
        wire.client.tick()
        #expect(wire.client.isClosed && wire.client.closeError == .keepaliveTimeout)
        #expect(wire.client.counters.keepaliveTimeouts == 1)
    }

    @Test func slowConsumerHoldsAtMostTheStreamWindowAndResumes() throws {
        let data = payload(12 << 20, seed: 9)
        let delegate = TestServerDelegate()
        let serverEnd = TunnelEndpoint()
        serverEnd.receiveLimit = 0
        delegate.decide = { _ in .accept(serverEnd) }
        let wire = try MemoryWire(delegate: delegate)
        let clientEnd = TunnelEndpoint(sending: data)
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        let tunnel = try #require(serverEnd.tunnel)
        #expect(tunnel.heldByteCount == 4 << 20, "the sender stops at the 4 MiB stream window")
        #expect(clientEnd.sentBytes == 4 << 20)
        serverEnd.receiveLimit = Int.max
        tunnel.deliverHeldBytes()
        #expect(wire.pump())
        #expect(serverEnd.received == data)
        #expect(serverEnd.receivedEnd)
    }

    @Test func bytesHeldWhenTheStreamClosesStillReachTheApplication() throws {
        let data = payload(1 << 20, seed: 12)
        let delegate = TestServerDelegate()
        delegate.decide = { _ in .accept(TunnelEndpoint(sending: data)) }
        let wire = try MemoryWire(delegate: delegate)
        let clientEnd = TunnelEndpoint(sending: [], finish: true)
        clientEnd.receiveLimit = 0
        let tunnel = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        // Both END_STREAMs crossed the wire; the application has taken nothing yet.
        #expect(wire.client.tunnelCount == 0)
        #expect(tunnel.heldByteCount == data.count)
        #expect(!clientEnd.closed && !clientEnd.receivedEnd)
        clientEnd.receiveLimit = 300_000
        tunnel.deliverHeldBytes()
        #expect(!clientEnd.closed && clientEnd.received.count == 300_000)
        clientEnd.receiveLimit = Int.max
        tunnel.deliverHeldBytes()
        #expect(clientEnd.received == data)
        #expect(clientEnd.receivedEnd && clientEnd.closed && clientEnd.closeError == nil)
        #expect(wire.pump())
    }

    @Test func aPeerThatDoesNotReadStopsTheSenderAtTheSinkLimit() throws {
        let delegate = TestServerDelegate()
        let serverEnd = TunnelEndpoint(sending: payload(8 << 20, seed: 4))
        delegate.decide = { _ in .accept(serverEnd) }
        let wire = try MemoryWire(delegate: delegate)
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: TunnelEndpoint())
        wire.serverSink.capacity = 256 << 10
        #expect(wire.pump(toClientOpen: false))
        #expect(wire.server.outputBlocked)
        #expect(wire.serverSink.bytes.count <= 256 << 10)
        #expect(serverEnd.sentBytes < 256 << 10, "nothing is produced beyond what the sink took")
    }
}
