import ZestCore

/// Why the server refused a CONNECT, and the HTTP status that says so (ARCHITECTURE.md §4).
public enum ConnectRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// `:method` was not CONNECT.
    case notConnect(method: String)
    /// `:authority` was missing or not `IP:port`.
    case malformedAuthority(String)
    /// The authority's IP is not the address this listener serves.
    case authorityNotLocal(IPAddress)
    /// The authorization hook denied the request.
    case denied(reason: String)
    /// The target port is one of Zest's own (15001/15006/15008): forwarding there would loop.
    case illegalPort(UInt16)
    /// No workload behind the target.
    case unknownTarget(SocketAddress)
    /// The upstream TCP connect failed.
    case upstreamConnectFailed(SocketAddress, reason: String)
    /// The request's header list exceeded the advertised SETTINGS_MAX_HEADER_LIST_SIZE.
    case headerListTooLarge(bytes: Int)

    /// The response status sent with END_STREAM.
    public var status: Int {
        switch self {
        case .notConnect, .malformedAuthority, .authorityNotLocal: 400
        case .denied: 401
        case .headerListTooLarge: 431
        case .illegalPort, .unknownTarget, .upstreamConnectFailed: 503
        }
    }

    public var description: String {
        switch self {
        case .notConnect(let m): "method \(m) is not CONNECT; HBONE carries only CONNECT requests"
        case .malformedAuthority(let a): "authority \"\(a)\" is not IP:port (IPv6 in brackets)"
        case .authorityNotLocal(let ip): "authority \(ip) is not an address served by this listener"
        case .denied(let r): "authorization denied: \(r)"
        case .illegalPort(let p): "port \(p) is a Zest port; tunnelling to it would loop"
        case .unknownTarget(let t): "no workload at \(t)"
        case .upstreamConnectFailed(let t, let r): "connect to \(t) failed: \(r)"
        case .headerListTooLarge(let n): "request headers of \(n) bytes exceed the advertised limit"
        }
    }
}
