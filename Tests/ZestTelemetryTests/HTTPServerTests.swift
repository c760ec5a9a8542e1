import Testing
import Glibc
import ZestCore
import ZestTestSupport
@testable import ZestTelemetry

/// Starts an echo-ish server on a kernel-chosen loopback port for one test.
func withServer(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in },
                _ body: (UInt16) throws -> Void) throws {
    var config = HTTPServer.Configuration(address: SocketAddress(ip: .loopbackV4, port: 0))
    configure(&config)
    let server = try HTTPServer(config) { req in
        .text(200, "\(req.method) \(req.path) q=\(req.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")) body=\(req.body.count)\n")
    }
    defer { server.stop() }
    try body(server.localAddress.port)
}

@Suite struct HTTPServerTests {
    @Test func servesAWellFormedRequestAndDecodesTheQuery() throws {
        try withServer { (port: UInt16) throws in
            let r = try httpRequest(port: port, "/logging?level=debug&x=a%20b+c&flag")
            #expect(r.status == 200)
            #expect(r.body == "GET /logging q=level=debug&x=a b c&flag= body=0\n")
            #expect(r.headers["connection"] == "close")
            #expect(r.headers["content-length"] == String(r.body.utf8.count))
        }
    }

    @Test func readsABodyDeclaredByContentLength() throws {
        try withServer { (port: UInt16) throws in
            let r = try httpRequest(port: port, method: "POST", "/x", body: "hello")
            #expect(r.body.hasSuffix("body=5\n"))
        }
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET /x\r\n\r\n", 400),
        ("GET  /x HTTP/1.1\r\n\r\n", 400),
        ("GET x HTTP/1.1\r\n\r\n", 400),
        ("G(T /x HTTP/1.1\r\n\r\n", 400),
        ("GET /x HTTP/2.0\r\n\r\n", 505),
        ("GET /x FOO/1.1\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nno-colon-here\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\n: empty-name\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\n folded: line\r\n\r\n", 400),
        ("GET /x HTTP/1.1\r\nA: b\u{1}c\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        ("POST /x HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        ("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        ("GET /x?a=%zz HTTP/1.1\r\n\r\n", 400),
        ("GET /x?a=%ff HTTP/1.1\r\n\r\n", 400),
    ])
    func malformedRequestsGetAClientErrorAndTheServerKeepsServing(raw: String, status: Int) throws {
        try withServer { (port: UInt16) throws in
            let r = try parseHTTPResponse(rawHTTPExchange(port: port, Array(raw.utf8)))
            #expect(r.status == status, "for \(raw.debugDescription): \(r.body)")
            #expect(try httpRequest(port: port, "/still-alive").status == 200)
        }
    }

    @Test func binaryGarbageDoesNotCrashTheServer() throws {
        try withServer { (port: UInt16) throws in
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                let junk = (0..<Int.random(in: 1...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                _ = try? rawHTTPExchange(port: port, junk + [13, 10, 13, 10], timeout: .seconds(5))
            }
            #expect(try httpRequest(port: port, "/ok").status == 200)
        }
    }

    @Test func oversizedHeadersAreRefusedWith431() throws {
        try withServer({ $0.maxHeaderBytes = 1024 }) { (port: UInt16) throws in
            let raw = "GET /x HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 4000))\r\n\r\n"
            #expect(try parseHTTPResponse(rawHTTPExchange(port: port, Array(raw.utf8))).status == 431)
            let endless = "GET /x HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 4000))"
            #expect(try parseHTTPResponse(rawHTTPExchange(port: port, Array(endless.utf8))).status == 431)
        }
    }

    @Test func aSlowClientTimesOutWith408AndOthersAreServedMeanwhile() throws {
        try withServer({ $0.requestTimeout = .milliseconds(300) }) { (port: UInt16) throws in
            let clock = ContinuousClock()
            let start = clock.now
            let slow = try rawHTTPExchange(port: port, Array("GET /x HTTP/1.1\r\nHost: a\r\n".utf8), keepOpen: true)
            let elapsed = start.duration(to: clock.now)
            #expect(try parseHTTPResponse(slow).status == 408)
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5))
        }
    }

    @Test func headAnswersWithHeadersOnly() throws {
        try withServer { (port: UInt16) throws in
            let raw = try rawHTTPExchange(port: port, Array("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n".utf8), keepOpen: true)
            let r = try parseHTTPResponse(raw)
            #expect(r.status == 200 && r.body.isEmpty)
            #expect(r.headers["content-length"] == String("HEAD /x q= body=0\n".utf8.count))
        }
    }

    @Test func anyAddressListenerIsDualStack() throws {
        let server = try HTTPServer(.init(address: SocketAddress(ip: .anyV6, port: 0))) { _ in .text(200, "both\n") }
        defer { server.stop() }
        #expect(server.localAddress.ip == .anyV6)
        #expect(try httpRequest(port: server.localAddress.port, "/").body == "both\n")
    }

    @Test func aHostWithoutIPv6IsToldToListenOnIPv4Instead() {
        #expect(ListenError.socket(errno: EAFNOSUPPORT).description.contains("listen on 0.0.0.0:port instead of [::]:port"))
    }

    @Test func bindingATakenPortFailsWithAnOperatorReadableError() throws {
        let first = try HTTPServer(.init(address: SocketAddress(ip: .loopbackV4, port: 0))) { _ in .text(200, "") }
        defer { first.stop() }
        #expect {
            _ = try HTTPServer(.init(address: first.localAddress)) { _ in .text(200, "") }
        } throws: { error in
            "\(error)".contains("cannot bind 127.0.0.1:\(first.localAddress.port)") && "\(error)".contains("holds the port")
        }
    }

    @Test func stopClosesTheListener() throws {
        let server = try HTTPServer(.init(address: SocketAddress(ip: .loopbackV4, port: 0))) { _ in .text(200, "") }
        let port = server.localAddress.port
        server.stop()
        #expect(throws: (any Error).self) { try httpRequest(port: port, "/") }
    }
}
