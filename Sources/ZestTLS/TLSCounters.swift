import Synchronization

/// The reasons a handshake fails, as counter labels.
public enum HandshakeFailureKind: String, CaseIterable, Sendable {
    case chainInvalid = "chain_invalid"
    case leafIsCA = "leaf_is_ca"
    case uriSANCount = "uri_san_count"
    case notSpiffeID = "not_spiffe_id"
    case trustDomainMismatch = "trust_domain_mismatch"
    case identityNotExpected = "identity_not_expected"
    case alpnNotNegotiated = "alpn_not_negotiated"
    case noPeerCertificate = "no_peer_certificate"
    /// The peer refused us (it sent a fatal alert).
    case peerAlert = "peer_alert"
    /// Any other TLS protocol failure (version, cipher suite, malformed message).
    case protocolError = "protocol_error"
    /// The transport failed or closed mid-handshake.
    case transport = "transport"
}

/// Handshake counters shared by every connection of the contexts that hold them
/// (a context holder passes the same counters to each rotated context). Handshakes are far
/// rarer than reads and writes, so one mutex is cheap enough; telemetry reads `snapshot()`.
public final class TLSCounters: Sendable {
    private struct State {
        var completed = 0
        var failures: [HandshakeFailureKind: Int] = [:]
    }
    private let state = Mutex(State())

    private let onFailure: (@Sendable (HandshakeFailureKind) -> Void)?

    /// `onFailure` hears of every failed handshake (telemetry counts them by reason).
    public init(onFailure: (@Sendable (HandshakeFailureKind) -> Void)? = nil) {
        self.onFailure = onFailure
    }

    func recordCompleted() { state.withLock { $0.completed += 1 } }
    func recordFailure(_ kind: HandshakeFailureKind) {
        state.withLock { $0.failures[kind, default: 0] += 1 }
        onFailure?(kind)
    }

    /// Handshakes that completed and passed every identity check.
    public var completedHandshakes: Int { state.withLock { $0.completed } }

    /// Failures of one kind so far.
    public func failures(_ kind: HandshakeFailureKind) -> Int { state.withLock { $0.failures[kind, default: 0] } }

    /// All failure counts, every kind present (zero when none).
    public func snapshot() -> [HandshakeFailureKind: Int] {
        state.withLock { s in
            Dictionary(uniqueKeysWithValues: HandshakeFailureKind.allCases.map { ($0, s.failures[$0, default: 0]) })
        }
    }
}
