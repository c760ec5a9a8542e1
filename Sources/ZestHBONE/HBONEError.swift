/// Failures of an HBONE connection as a whole. Each text tells an operator what happened.
public enum HBONEError: Error, Sendable, Equatable, CustomStringConvertible {
    case outOfMemory(String)
    case nghttp2(String, String)
    /// The peer broke HTTP/2 badly enough that the connection was closed.
    case protocolViolation(String)
    /// The peer sent control frames faster than the flood guard allows.
    case flood(String)
    /// No PING acknowledgement within the keepalive timeout.
    case keepaliveTimeout
    /// The connection is draining or the peer sent GOAWAY: open new tunnels elsewhere.
    case goingAway
    /// The connection already carries as many tunnels as it may.
    case streamLimitReached(Int)

    public var description: String {
        switch self {
        case .outOfMemory(let f): "\(f) could not allocate; the process is out of memory"
        case .nghttp2(let f, let e): "\(f) failed: \(e)"
        case .protocolViolation(let r): "HTTP/2 protocol violation, connection closed: \(r)"
        case .flood(let r): "peer flooded the connection (\(r)); closed with GOAWAY ENHANCE_YOUR_CALM"
        case .keepaliveTimeout: "no PING answer within the keepalive timeout; is the peer or the path to it down?"
        case .goingAway: "the connection is going away (GOAWAY); new tunnels need a new connection"
        case .streamLimitReached(let n): "the connection already carries \(n) tunnels; open another connection"
        }
    }
}
