/// A parsed HTTP/1.x request as the telemetry servers see it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent, e.g. `/logging?level=debug`.
    public var target: String
    /// The target up to `?`.
    public var path: String
    /// Query parameters, percent-decoded, in order. A bare `?reset` gives `("reset", "")`.
    public var query: [(name: String, value: String)]
    /// Header fields with lower-cased names, in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The first query parameter with that name.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// The first header with that (case-insensitive) name.
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name == n }?.value
    }
}

/// An answer: status, content type and body. The server adds `Content-Length` and
/// `Connection: close` and closes the connection after sending it.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, contentType: String = "text/plain; charset=utf-8",
                headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// A plain-text answer.
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, body: Array(text.utf8))
    }

    /// 405 with the `Allow` header listing what the resource accepts.
    public static func methodNotAllowed(allow: [String]) -> HTTPResponse {
        var r = text(405, "method not allowed; use \(allow.joined(separator: " or "))\n")
        r.headers.append((name: "Allow", value: allow.joined(separator: ", ")))
        return r
    }

    public static func notFound(_ path: String) -> HTTPResponse {
        text(404, "no such endpoint: \(path)\n")
    }

    /// The bytes on the wire; an answer to HEAD has the headers of the full answer and no body.
    func serialized(includeBody: Bool = true) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for h in headers { head += "\(h.name): \(h.value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (includeBody ? body : [])
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}

/// A request handler. It runs on the server's own thread; it must not block for long.
public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse
