import Testing
import ZestCore
@testable import ZestHBONE

/// What the server answers before a tunnel opens: the status table of ARCHITECTURE.md §4.
@Suite struct ServerAnswerTests {
    enum Setup: Sendable { case deny, rejectUnknown, rejectConnectFailed, localAddressOther, none, acceptLater }

    static let cases: [(String, Setup, String, Int)] = [
        ("authorization hook denies", .deny, "10.0.0.5:80", 401),
        ("illegal port 15008", .none, "10.0.0.5:15008", 503),
        ("illegal port 15001", .none, "10.0.0.5:15001", 503),
        ("illegal port 15006", .none, "10.0.0.5:15006", 503),
        ("unknown target", .rejectUnknown, "10.0.0.5:80", 503),
        ("upstream connect fails", .rejectConnectFailed, "10.0.0.5:80", 503),
        ("authority not the listener's address", .localAddressOther, "10.0.0.5:80", 400),
        ("upstream connects later", .acceptLater, "10.0.0.5:80", 200),
    ]

    @Test(arguments: cases)
    func serverAnswersWithTheStatusForTheSituation(_ c: (String, Setup, String, Int)) throws {
        let delegate = TestServerDelegate()
        var settings = HBONESettings.server
        switch c.1 {
        case .deny: delegate.deny = { _ in "no ALLOW policy matched" }
        case .rejectUnknown: delegate.decide = { t in .reject(.unknownTarget(t.request.target)) }
        case .rejectConnectFailed: delegate.decide = { t in .reject(.upstreamConnectFailed(t.request.target, reason: "ECONNREFUSED")) }
        case .localAddressOther: settings.localAddress = IPAddress("10.0.0.6")
        case .acceptLater: delegate.decide = { _ in nil }
        case .none: break
        }
        let wire = try MemoryWire(delegate: delegate, server: settings)
        let clientEnd = TunnelEndpoint(sending: Array("hello".utf8))
        _ = try wire.client.openTunnel(ConnectRequest(target: SocketAddress(c.2)!), handler: clientEnd)
        #expect(wire.pump())
        if c.3 == 200 {
            // No answer until the upstream connect succeeds; then 200 and the early bytes arrive.
            #expect(!clientEnd.opened && !clientEnd.closed)
            let pending = try #require(delegate.pending.first)
            let serverEnd = TunnelEndpoint()
            pending.accept(handler: serverEnd)
            #expect(wire.pump())
            #expect(clientEnd.opened && String(decoding: serverEnd.received, as: UTF8.self) == "hello")
        } else {
            #expect(clientEnd.closeError == .rejected(status: c.3), "\(c.0)")
            #expect(wire.server.counters.rejectedByStatus[c.3] == 1)
            #expect(wire.client.counters.rejectedByStatus[c.3] == 1)
            #expect(wire.server.tunnelCount == 0 && wire.client.tunnelCount == 0)
            // The connection itself stays usable.
            #expect(wire.client.hasCapacity && !wire.server.isClosed)
        }
    }

    @Test func requestValidationTable() {
        func head(_ fields: [(String, String)]) -> RequestHead {
            var h = RequestHead()
            for (n, v) in fields { h.add(name: n, value: v) }
            return h
        }
        let local = IPAddress("10.0.0.5")
        let table: [([(String, String)], IPAddress?, Result<SocketAddress, ConnectRejection>)] = [
            ([(":method", "CONNECT"), (":authority", "10.0.0.5:80")], local, .success(SocketAddress("10.0.0.5:80")!)),
            ([(":method", "CONNECT"), (":authority", "[fd00::5]:443")], nil, .success(SocketAddress("[fd00::5]:443")!)),
            ([(":method", "GET"), (":authority", "10.0.0.5:80")], nil, .failure(.notConnect(method: "GET"))),
            ([(":authority", "10.0.0.5:80")], nil, .failure(.notConnect(method: "(none)"))),
            ([(":method", "CONNECT")], nil, .failure(.malformedAuthority("(none)"))),
            ([(":method", "CONNECT"), (":authority", "example.com:80")], nil, .failure(.malformedAuthority("example.com:80"))),
            ([(":method", "CONNECT"), (":authority", "fd00::5:443")], nil, .failure(.malformedAuthority("fd00::5:443"))),
            ([(":method", "CONNECT"), (":authority", "10.0.0.5")], nil, .failure(.malformedAuthority("10.0.0.5"))),
            ([(":method", "CONNECT"), (":authority", "10.0.0.5:99999")], nil, .failure(.malformedAuthority("10.0.0.5:99999"))),
            ([(":method", "CONNECT"), (":authority", "10.0.0.7:80")], local, .failure(.authorityNotLocal(IPAddress("10.0.0.7")!))),
            ([(":method", "CONNECT"), (":authority", "10.0.0.5:15008")], nil, .failure(.illegalPort(15008))),
            ([(":method", "CONNECT"), (":authority", "10.0.0.5:80"), ("x", String(repeating: "a", count: 70_000))], nil,
             .failure(.headerListTooLarge(bytes: 70_000 + 1 + 32 + 7 + 7 + 32 + 10 + 11 + 32))),
        ]
        for (fields, localAddress, expected) in table {
            let got = head(fields).validate(maxListSize: 64 << 10, localAddress: localAddress).map(\.target)
            #expect(got == expected, "\(fields.map(\.0))")
        }
    }

    @Test func forwardedHeaderRoundTrips() {
        let r = ConnectRequest(target: SocketAddress("10.0.0.5:80")!, forwardedFor: SocketAddress("[fd00::9]:1234")!,
                               forwardedHost: "reviews.default.svc.cluster.local")
        #expect(r.forwardedValue == "for=\"[fd00::9]:1234\";host=reviews.default.svc.cluster.local")
        var h = RequestHead()
        h.add(name: "forwarded", value: r.forwardedValue!)
        #expect(h.forwardedClient == SocketAddress("[fd00::9]:1234"))
        #expect(h.forwardedHostValue == "reviews.default.svc.cluster.local")
    }

    @Test func traceparentIsW3CFormatAndFreshPerConnection() throws {
        let a = Traceparent.random(), b = Traceparent.random()
        #expect(a != b)
        let parts = a.split(separator: "-")
        #expect(parts.count == 4 && parts[0] == "00" && parts[1].count == 32 && parts[2].count == 16 && parts[3] == "00")
        let hex = parts[1] + parts[2]
        #expect(hex.allSatisfy { $0.isHexDigit })
        let d = TestServerDelegate()
        #expect(try MemoryWire(delegate: d).client.traceparent != MemoryWire(delegate: d).client.traceparent)
    }
}
