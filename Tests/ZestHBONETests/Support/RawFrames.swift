/// Hand-built HTTP/2 frames for feeding a server bytes no well-behaved client would send,
/// and a parser for what the server answers.
enum RawFrames {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum FrameType: UInt8 {
        case data = 0, headers = 1, priority = 2, rstStream = 3, settings = 4, pushPromise = 5
        case ping = 6, goAway = 7, windowUpdate = 8, continuation = 9
    }

    static func frame(_ type: FrameType, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type.rawValue, flags]
            + be32(stream & 0x7fff_ffff) + payload
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// Preface, an empty SETTINGS and the ACK of the server's SETTINGS, so its limits apply.
    static var clientStart: [UInt8] { preface + frame(.settings) + frame(.settings, flags: 1) }

    /// A header block of HPACK "literal without indexing, new name" fields (RFC 7541 §6.2.2).
    static func block(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (n, v) in fields {
            out.append(0x00)
            out += string(Array(n.utf8)) + string(Array(v.utf8))
        }
        return out
    }

    private static func string(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var len = s.count
        if len < 127 {
            out.append(UInt8(len))
        } else {
            out.append(127)
            len -= 127
            while len >= 128 { out.append(UInt8(len & 0x7f | 0x80)); len >>= 7 }
            out.append(UInt8(len))
        }
        return out + s
    }

    /// HEADERS with END_HEADERS (and END_STREAM when `end`).
    static func headers(stream: UInt32, _ fields: [(String, String)], end: Bool = false) -> [UInt8] {
        frame(.headers, flags: 0x4 | (end ? 0x1 : 0), stream: stream, block(fields))
    }

    static func connect(stream: UInt32, authority: String = "10.0.0.5:80") -> [UInt8] {
        headers(stream: stream, [(":method", "CONNECT"), (":authority", authority)])
    }

    static func rst(stream: UInt32, code: UInt32 = 8) -> [UInt8] { frame(.rstStream, stream: stream, be32(code)) }
    static func ping(_ payload: UInt64 = 0) -> [UInt8] { frame(.ping, (0..<8).map { UInt8(payload >> (56 - 8 * UInt64($0)) & 0xff) }) }
    static func windowUpdate(stream: UInt32, increment: UInt32) -> [UInt8] { frame(.windowUpdate, stream: stream, be32(increment)) }

    struct Parsed {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
        var errorCode: UInt32? {
            switch type {
            case FrameType.rstStream.rawValue where payload.count >= 4: UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3])
            case FrameType.goAway.rawValue where payload.count >= 8: UInt32(payload[4]) << 24 | UInt32(payload[5]) << 16 | UInt32(payload[6]) << 8 | UInt32(payload[7])
            default: nil
            }
        }
    }

    /// Splits server output into frames (no preface on the server side).
    static func parse(_ bytes: [UInt8]) -> [Parsed] {
        var out: [Parsed] = []
        var i = 0
        while i + 9 <= bytes.count {
            let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard i + 9 + n <= bytes.count else { break }
            let stream = (UInt32(bytes[i + 5]) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8])) & 0x7fff_ffff
            out.append(Parsed(type: bytes[i + 3], flags: bytes[i + 4], stream: stream, payload: Array(bytes[(i + 9)..<(i + 9 + n)])))
            i += 9 + n
        }
        return out
    }
}
