/// A TLS alert, as sent or received (`SSL_alert_desc_string_long`).
public struct TLSAlert: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The alert description code (RFC 8446 §6), e.g. 40 handshake_failure, 116 certificate_required.
    public let code: Int
    /// OpenSSL's long name, e.g. "handshake failure".
    public let name: String
    public var description: String { "\(name) (\(code))" }

    public static let handshakeFailure = 40
    public static let badCertificate = 42
    public static let certificateExpired = 45
    public static let unknownCA = 48
    public static let protocolVersion = 70
    public static let noApplicationProtocol = 120
    public static let certificateRequired = 116
    public static let decryptError = 51
}

/// Errors from ZestTLS contexts and connections. Handshake errors carry the local identity
/// rejection (if ours) or the alert the peer sent (if theirs).
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A context could not be built from the given certificate and settings.
    case configuration(String)
    /// Our own identity check refused the peer; the handshake was aborted with an alert.
    case peerRejected(PeerRejection)
    /// The peer aborted the handshake or the connection with this alert.
    case alertReceived(TLSAlert, detail: String)
    /// TLS protocol failure that is neither of the above (version, cipher, decode error).
    case protocolFailure(String)
    /// The transport closed before the handshake completed.
    case closedDuringHandshake
    /// A socket error (errno) under TLS.
    case transport(errno: Int32)

    public var description: String {
        switch self {
        case .configuration(let s): return "TLS configuration error: \(s)"
        case .peerRejected(let r): return "TLS peer rejected: \(r)"
        case .alertReceived(let a, let d): return "TLS peer sent alert \(a): \(d)"
        case .protocolFailure(let s): return "TLS protocol failure: \(s)"
        case .closedDuringHandshake: return "peer closed the connection during the TLS handshake"
        case .transport(let e): return "socket error \(e) under TLS"
        }
    }

    /// The counter label for a handshake that failed with this error.
    public var failureKind: HandshakeFailureKind {
        switch self {
        case .peerRejected(let r): return r.kind
        case .alertReceived: return .peerAlert
        case .configuration, .protocolFailure: return .protocolError
        case .closedDuringHandshake, .transport: return .transport
        }
    }
}

/// Progress of a nonblocking TLS operation.
public enum TLSProgress: Equatable, Sendable {
    /// The operation moved this many bytes (0 for a completed handshake or shutdown step).
    case done(Int)
    /// Call again when the socket is readable.
    case wantRead
    /// Call again when the socket is writable.
    case wantWrite
    /// The peer closed the TLS session (close_notify or EOF).
    case closed
}
