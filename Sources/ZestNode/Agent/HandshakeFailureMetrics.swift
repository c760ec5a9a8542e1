import ZestTLS
import ZestTelemetry

/// Feeds the TLS layer's handshake failures into `tls_handshake_failures_total`.
enum HandshakeFailureMetrics {
    /// Counters for the node's inbound (server, reporter=destination) and outbound (client,
    /// reporter=source) handshakes, each failure counted in `metrics` as it happens.
    static func counters(_ metrics: TLSHandshakeMetrics) -> (server: TLSCounters, client: TLSCounters) {
        (TLSCounters { metrics.failed(reason(for: $0), reporter: .destination) },
         TLSCounters { metrics.failed(reason(for: $0), reporter: .source) })
    }

    /// The metric's reason label for a TLS-layer failure kind.
    static func reason(for kind: HandshakeFailureKind) -> TLSHandshakeFailureReason {
        switch kind {
        case .chainInvalid, .leafIsCA, .uriSANCount, .notSpiffeID: return .certificateInvalid
        case .trustDomainMismatch, .identityNotExpected: return .identityMismatch
        case .noPeerCertificate: return .noPeerCertificate
        case .alpnNotNegotiated, .protocolError, .peerAlert: return .protocolError
        case .transport: return .peerClosed
        }
    }
}
