import Testing
import ZestCore
@testable import ZestHBONE

/// A client connection and a server connection talking through memory: the CONNECT exchange,
/// bytes both ways, half-close, many tunnels per connection.
@Suite struct TunnelTransferTests {
    let target = SocketAddress("10.1.2.3:8080")!

    @Test func connectCarriesHBONEHeadersAndMovesEightMiBEachWay() throws {
        let up = payload(8 << 20, seed: 1), down = payload(8 << 20 + 17, seed: 2)
        let delegate = TestServerDelegate()
        let serverEnd = TunnelEndpoint(sending: down)
        delegate.decide = { _ in .accept(serverEnd) }
        let wire = try MemoryWire(delegate: delegate)
        let clientEnd = TunnelEndpoint(sending: up)
        let request = ConnectRequest(target: target, forwardedFor: SocketAddress("10.9.9.9:40000")!,
                                     baggage: "k8s.namespace.name=default,service.name=app")
        _ = try wire.client.openTunnel(request, handler: clientEnd)
        #expect(wire.pump())

        let seen = try #require(delegate.requests.first)
        #expect(seen.target == target)
        #expect(seen.forwardedFor == SocketAddress("10.9.9.9:40000"))
        #expect(seen.baggage == "k8s.namespace.name=default,service.name=app")
        #expect(seen.traceparent == wire.client.traceparent)
        #expect(clientEnd.opened && serverEnd.opened)
        #expect(serverEnd.received.count == up.count && serverEnd.receivedDigest == sha256(up))
        #expect(clientEnd.received.count == down.count && clientEnd.receivedDigest == sha256(down))
        #expect(clientEnd.receivedEnd && serverEnd.receivedEnd)
        #expect(clientEnd.closed && clientEnd.closeError == nil)
        #expect(serverEnd.closed && serverEnd.closeError == nil)
        #expect(wire.client.tunnelCount == 0 && wire.server.tunnelCount == 0)
        #expect(wire.client.counters.tunnelsOpened == 1 && wire.server.counters.tunnelsOpened == 1)
    }

    @Test func payloadWithHeadroomGoesOutWithoutCopyAndWithoutHeadroomIsCopied() throws {
        for (headroom, expectCopies) in [(9, false), (0, true)] {
            let data = payload(200_000, seed: 3)
            let delegate = TestServerDelegate()
            let serverEnd = TunnelEndpoint()
            delegate.decide = { _ in .accept(serverEnd) }
            let wire = try MemoryWire(delegate: delegate)
            let clientEnd = TunnelEndpoint(sending: data, headroom: headroom)
            _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
            #expect(wire.pump())
            #expect(serverEnd.received == data)
            let c = wire.client.counters
            if expectCopies {
                #expect(c.framesCopied > 0 && c.framesInPlace == 0)
            } else {
                // Full frames leave in place; only small ones (a window's tail) share the outbox.
                #expect(c.framesCopied == 0 && c.framesInPlace >= 8)
                #expect(c.framesInPlace + c.framesCoalesced >= data.count / 16_375)
            }
        }
    }

    @Test func halfCloseEachWayIsIndependentAndALateAnswerArrives() throws {
        let delegate = TestServerDelegate()
        let serverEnd = TunnelEndpoint(sending: [], finish: false)
        delegate.decide = { _ in .accept(serverEnd) }
        let wire = try MemoryWire(delegate: delegate)
        let clientEnd = TunnelEndpoint(sending: Array("request".utf8), finish: true)
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        // The client's direction is over; the server's is still open.
        #expect(serverEnd.receivedEnd && String(decoding: serverEnd.received, as: UTF8.self) == "request")
        #expect(!clientEnd.receivedEnd && !clientEnd.closed)
        // The answer comes after the client's EOF.
        serverEnd.send(Array("late answer".utf8), finish: true)
        #expect(wire.pump())
        #expect(String(decoding: clientEnd.received, as: UTF8.self) == "late answer")
        #expect(clientEnd.receivedEnd && clientEnd.closed && clientEnd.closeError == nil)
        #expect(serverEnd.closed && serverEnd.closeError == nil)
    }

    @Test func ipv6AuthorityIsBracketedAndParsed() throws {
        let delegate = TestServerDelegate()
        let wire = try MemoryWire(delegate: delegate)
        let v6 = SocketAddress("[fd00::1:2]:9090")!
        #expect(ConnectRequest(target: v6).headers.first { $0.name == ":authority" }?.value == "[fd00::1:2]:9090")
        let clientEnd = TunnelEndpoint(sending: [1, 2, 3])
        _ = try wire.client.openTunnel(ConnectRequest(target: v6), handler: clientEnd)
        #expect(wire.pump())
        #expect(delegate.requests.first?.target == v6)
        #expect(delegate.endpoints.first?.received == [1, 2, 3])
    }

    @Test func sixteenTunnelsShareOneConnection() throws {
        let delegate = TestServerDelegate()
        var serverEnds: [TunnelEndpoint] = []
        delegate.decide = { t in
            let e = TunnelEndpoint(sending: payload(300_000, seed: 100 + UInt64(t.streamID)))
            serverEnds.append(e)
            return .accept(e)
        }
        let wire = try MemoryWire(delegate: delegate)
        var clientEnds: [(HBONETunnel, TunnelEndpoint, [UInt8])] = []
        for i in 0..<16 {
            let data = payload(250_000 + i, seed: UInt64(i))
            let e = TunnelEndpoint(sending: data)
            clientEnds.append((try wire.client.openTunnel(ConnectRequest(target: target), handler: e), e, data))
        }
        #expect(wire.client.tunnelCount == 16)
        #expect(wire.pump())
        #expect(serverEnds.count == 16)
        for (tunnel, e, data) in clientEnds {
            let s = try #require(delegate.endpoints.first { $0.streamID == tunnel.streamID })
            #expect(s.received == data)
            #expect(e.received == payload(300_000, seed: 100 + UInt64(tunnel.streamID)))
            #expect(e.closed && e.closeError == nil)
        }
    }
}

/// The frames one turn produces leave in one sink write (one `SSL_write` in production).
@Suite struct CoalescedOutputTests {
    let target = SocketAddress("10.1.2.3:8080")!

    @Test func eightTunnelsAnsweredInOneTurnCostOneSinkWrite() throws {
        let delegate = TestServerDelegate()
        delegate.decide = { _ in .accept(TunnelEndpoint(sending: Array("hello".utf8), finish: false)) }
        let wire = try MemoryWire(delegate: delegate)
        #expect(wire.pump())
        let clients = (0..<8).map { _ in TunnelEndpoint(sending: [], finish: false) }
        for c in clients { _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: c) }

        let writesBefore = wire.serverSink.writes, countedBefore = wire.server.counters.sinkWrites
        let requests = wire.clientSink.take()
        requests.withUnsafeBytes { wire.server.receive($0) }
        // Eight HEADERS (200) and eight DATA frames, written together.
        #expect(wire.serverSink.writes - writesBefore == 1)
        #expect(wire.server.counters.sinkWrites - countedBefore == 1)
        #expect(wire.server.counters.framesCoalesced == 8)

        wire.serverSink.take().withUnsafeBytes { wire.client.receive($0) }
        #expect(wire.pump())
        for c in clients { #expect(c.opened && String(decoding: c.received, as: UTF8.self) == "hello") }
    }

    @Test func bulkDataStillLeavesInPlaceBehindCoalescedControlFrames() throws {
        let data = payload(300_000, seed: 9)
        let delegate = TestServerDelegate()
        let serverEnd = TunnelEndpoint()
        delegate.decide = { _ in .accept(serverEnd) }
        let wire = try MemoryWire(delegate: delegate)
        let clientEnd = TunnelEndpoint(sending: data, chunk: 64 << 10)
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        #expect(serverEnd.received == data && serverEnd.receivedEnd)
        let c = wire.client.counters
        #expect(c.framesInPlace >= data.count / (64 << 10) && c.framesCopied == 0)
    }
}

/// DATA right behind the CONNECT (`sendBeforeResponse`): held by the server until its 200.
@Suite struct EarlyDataTests {
    let target = SocketAddress("10.1.2.3:8080")!

    @Test(arguments: [true, false])
    func bytesSentBeforeThe200WaitAtTheServerUntilItAccepts(_ early: Bool) throws {
        let delegate = TestServerDelegate()
        delegate.decide = { _ in nil }
        var settings = HBONESettings.client
        settings.sendBeforeResponse = early
        let wire = try MemoryWire(delegate: delegate, client: settings)
        let clientEnd = TunnelEndpoint(sending: Array("early bytes".utf8), finish: true)
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        let pending = try #require(delegate.pending.first)
        #expect(pending.heldByteCount == (early ? 11 : 0))
        #expect(!clientEnd.opened)

        let serverEnd = TunnelEndpoint(sending: Array("answer".utf8), finish: true)
        pending.accept(handler: serverEnd)
        #expect(wire.pump())
        #expect(String(decoding: serverEnd.received, as: UTF8.self) == "early bytes" && serverEnd.receivedEnd)
        #expect(String(decoding: clientEnd.received, as: UTF8.self) == "answer" && clientEnd.receivedEnd)
        #expect(clientEnd.closed && clientEnd.closeError == nil && serverEnd.closed && serverEnd.closeError == nil)
    }

    @Test func earlyBytesOfARefusedTunnelAreDroppedAndTheirWindowReturned() throws {
        let delegate = TestServerDelegate()
        delegate.decide = { _ in nil }
        var server = HBONESettings.server
        server.streamWindow = 200_000
        server.connectionWindow = 200_000
        let wire = try MemoryWire(delegate: delegate, server: server)
        let clientEnd = TunnelEndpoint(sending: payload(150_000, seed: 4), finish: false)
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: clientEnd)
        #expect(wire.pump())
        let pending = try #require(delegate.pending.first)
        #expect(pending.heldByteCount == 150_000)
        pending.reject(.upstreamConnectFailed(target, reason: "test"))
        #expect(wire.pump())
        #expect(clientEnd.closed && clientEnd.closeError == .rejected(status: 503))
        #expect(wire.server.tunnelCount == 0)
        // 150,000 more bytes fit the 200,000-byte connection window only if the refused
        // tunnel's bytes were given back.
        delegate.decide = { _ in .accept(TunnelEndpoint()) }
        let second = TunnelEndpoint(sending: payload(150_000, seed: 5), finish: true)
        _ = try wire.client.openTunnel(ConnectRequest(target: target), handler: second)
        #expect(wire.pump())
        #expect(delegate.endpoints.last?.received.count == 150_000)
        #expect(second.closed && second.closeError == nil)
    }
}
