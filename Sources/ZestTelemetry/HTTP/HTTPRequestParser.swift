/// Parses one HTTP/1.0 or HTTP/1.1 request from the bytes received so far. Strict: anything
/// malformed is refused with a status and a reason, never a crash.
struct HTTPRequestParser {
    enum Outcome {
        /// More bytes are needed.
        case incomplete
        case complete(HTTPRequest)
        /// The request is refused with this status; `reason` goes into the answer body.
        case invalid(status: Int, reason: String)
    }

    let maxHeaderBytes: Int
    let maxBodyBytes: Int

    func parse(_ buf: [UInt8]) -> Outcome {
        guard let headerEnd = Self.find(crlfcrlf, in: buf) else {
            if buf.count > maxHeaderBytes {
                return .invalid(status: 431, reason: "request header larger than \(maxHeaderBytes) bytes")
            }
            return .incomplete
        }
        guard headerEnd <= maxHeaderBytes else {
            return .invalid(status: 431, reason: "request header larger than \(maxHeaderBytes) bytes")
        }
        let lines = Self.split(buf[0..<headerEnd])
        guard let requestLine = lines.first else { return .invalid(status: 400, reason: "empty request") }
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .invalid(status: 400, reason: "malformed request line") }
        guard !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenByte) else {
            return .invalid(status: 400, reason: "malformed method")
        }
        guard parts[1].first == UInt8(ascii: "/"), parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return .invalid(status: 400, reason: "request target must be an absolute path")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version.hasPrefix("HTTP/") else { return .invalid(status: 400, reason: "malformed HTTP version") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return .invalid(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are served here")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy(Self.isTokenByte) else {
                return .invalid(status: 400, reason: "malformed header line")
            }
            let rawValue = line[(colon + 1)...]
            guard rawValue.allSatisfy({ $0 == 9 || ($0 >= 0x20 && $0 != 0x7f) }) else {
                return .invalid(status: 400, reason: "control character in header value")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: rawValue, as: UTF8.self).trimmingSpaces()
            headers.append((name: name, value: value))
        }
        if headers.contains(where: { $0.name == "transfer-encoding" }) {
            return .invalid(status: 501, reason: "transfer-encoding is not supported; send Content-Length")
        }
        let lengths = Set(headers.filter { $0.name == "content-length" }.map(\.value))
        var bodyLength = 0
        if !lengths.isEmpty {
            guard lengths.count == 1, let text = lengths.first, !text.isEmpty, text.count <= 12,
                  text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                return .invalid(status: 400, reason: "malformed Content-Length")
            }
            guard n <= maxBodyBytes else {
                return .invalid(status: 413, reason: "request body larger than \(maxBodyBytes) bytes")
            }
            bodyLength = n
        }
        let bodyStart = headerEnd + crlfcrlf.count
        guard buf.count >= bodyStart + bodyLength else { return .incomplete }
        let target = String(decoding: parts[1], as: UTF8.self)
        let (path, queryText) = target.splitOnce("?")
        guard let query = Self.parseQuery(queryText ?? "") else {
            return .invalid(status: 400, reason: "malformed percent-encoding in query")
        }
        return .complete(HTTPRequest(method: String(decoding: parts[0], as: UTF8.self), target: target,
                                     path: path, query: query, headers: headers,
                                     body: Array(buf[bodyStart..<(bodyStart + bodyLength)])))
    }

    private let crlfcrlf: [UInt8] = [13, 10, 13, 10]

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }

    /// Splits at CRLF. A bare LF or CR inside a line stays in the line and fails validation.
    static func split(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == 13, i + 1 < bytes.endIndex, bytes[i + 1] == 10 {
                lines.append(bytes[start..<i])
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        return lines
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    /// Parses `a=1&b=x%20y&flag`; nil on broken percent-encoding or non-UTF-8 results.
    static func parseQuery(_ text: String) -> [(name: String, value: String)]? {
        var out: [(name: String, value: String)] = []
        for item in text.split(separator: "&") {
            let (k, v) = String(item).splitOnce("=")
            guard let name = percentDecode(k), let value = percentDecode(v ?? "") else { return nil }
            out.append((name: name, value: value))
        }
        return out
    }

    static func percentDecode(_ s: String) -> String? {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%") {
                guard it.count >= 2, let h = hexValue(it.popFirst()!), let l = hexValue(it.popFirst()!) else { return nil }
                out.append(h << 4 | l)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    /// Splits at the first occurrence of `separator`; the second part is nil when absent.
    func splitOnce(_ separator: Character) -> (String, String?) {
        guard let i = firstIndex(of: separator) else { return (self, nil) }
        return (String(self[..<i]), String(self[index(after: i)...]))
    }

    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
