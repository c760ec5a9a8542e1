import Foundation
import Glibc

/// A parsed HTTP answer as tests look at it.
public struct TestHTTPResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: String
    public let raw: String
}

public struct TestHTTPError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Sends `request` bytes as they are to 127.0.0.1:`port` (so tests can send malformed input),
/// half-closes unless `keepOpen`, and reads until the server closes or `timeout` passes.
public func rawHTTPExchange(port: UInt16, _ request: [UInt8], keepOpen: Bool = false,
                            timeout: Duration = .seconds(10)) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestHTTPError(description: "socket: errno \(errno)") }
    defer { close(fd) }
    var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = port.bigEndian
    sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let rc = withUnsafePointer(to: &sin) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw TestHTTPError(description: "connect to port \(port): errno \(errno)") }
    var off = 0
    while off < request.count {
        let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }
        off += n
    }
    if !keepOpen { shutdown(fd, Int32(SHUT_WR)) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { out += chunk[0..<n]; continue }
        if n < 0 && errno == EINTR { continue }
        if n < 0 && out.isEmpty { throw TestHTTPError(description: "no answer from port \(port): errno \(errno)") }
        break
    }
    return String(decoding: out, as: UTF8.self)
}

/// One HTTP/1.1 request to 127.0.0.1:`port`, parsed.
public func httpRequest(port: UInt16, method: String = "GET", _ target: String,
                        headers: [String: String] = [:], body: String = "") throws -> TestHTTPResponse {
    // The write side stays open: Go servers (Prometheus) cancel a request whose client half-closed.
    var req = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (k, v) in headers { req += "\(k): \(v)\r\n" }
    if !body.isEmpty || method == "POST" { req += "Content-Length: \(body.utf8.count)\r\n" }
    req += "\r\n" + body
    return try parseHTTPResponse(rawHTTPExchange(port: port, Array(req.utf8), keepOpen: true))
}

/// Splits a raw HTTP/1.x answer into status, headers (lower-cased names) and body.
public func parseHTTPResponse(_ raw: String) throws -> TestHTTPResponse {
    guard let split = raw.range(of: "\r\n\r\n") else { throw TestHTTPError(description: "no header end in: \(raw.prefix(200))") }
    let head = raw[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = head[0].split(separator: " ")
    guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
        throw TestHTTPError(description: "bad status line: \(head[0])")
    }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let c = line.firstIndex(of: ":") else { continue }
        headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
    }
    return TestHTTPResponse(status: status, headers: headers, body: String(raw[split.upperBound...]), raw: raw)
}

/// A loopback TCP port that was free a moment ago (bind port 0, read it, close).
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &sin) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw TestHTTPError(description: "cannot bind a loopback port: errno \(errno)") }
    return UInt16(bigEndian: sin.sin_port)
}
