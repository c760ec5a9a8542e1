import ZestCore
import ZestIdentity

/// Why a peer's certificate was refused during the handshake.
public enum PeerRejection: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// OpenSSL's chain verification failed (unknown root, expired, not yet valid, bad EKU …).
    case chainInvalid(code: Int, reason: String)
    /// The leaf says CA:TRUE; workloads never present CA certificates.
    case leafIsCA
    /// The leaf has this many URI SANs; exactly one (the SPIFFE ID) is required.
    case uriSANCount(Int)
    /// The one URI SAN is not an Istio SPIFFE ID.
    case notSpiffeID(uri: String, reason: String)
    /// The client's trust domain differs from the server's.
    case trustDomainMismatch(expected: String, got: String)
    /// The server's identity is not one of those expected for this connection.
    case identityNotExpected(expected: [String], got: String)
    /// The peer did not negotiate ALPN `h2`.
    case alpnNotNegotiated(offered: String)
    /// The peer presented no certificate.
    case noPeerCertificate

    /// A stable short name, used as the counter label.
    public var kind: HandshakeFailureKind {
        switch self {
        case .chainInvalid: return .chainInvalid
        case .leafIsCA: return .leafIsCA
        case .uriSANCount: return .uriSANCount
        case .notSpiffeID: return .notSpiffeID
        case .trustDomainMismatch: return .trustDomainMismatch
        case .identityNotExpected: return .identityNotExpected
        case .alpnNotNegotiated: return .alpnNotNegotiated
        case .noPeerCertificate: return .noPeerCertificate
        }
    }

    public var description: String {
        switch self {
        case .chainInvalid(let code, let reason):
            return "peer certificate chain is invalid: \(reason) (X509 error \(code)); do both sides share a root?"
        case .leafIsCA:
            return "peer presented a CA certificate as its leaf; workload certificates must be CA:FALSE"
        case .uriSANCount(let n):
            return "peer certificate has \(n) URI SANs; exactly one SPIFFE ID is required"
        case .notSpiffeID(let uri, let reason):
            return "peer URI SAN '\(uri)' is not an Istio SPIFFE ID: \(reason)"
        case .trustDomainMismatch(let expected, let got):
            return "peer trust domain \(got) is not ours (\(expected)); cross-trust-domain traffic is refused"
        case .identityNotExpected(let expected, let got):
            return "peer identity \(got) is not one of the expected \(expected); is the destination's service account right?"
        case .alpnNotNegotiated(let offered):
            return "peer did not negotiate ALPN h2 (\(offered)); HBONE needs HTTP/2"
        case .noPeerCertificate:
            return "peer sent no certificate; mutual TLS requires one"
        }
    }
}

/// One small check on a verified peer leaf (in the spirit of swift-certificates' verifier
/// policies). The chain itself is verified by OpenSSL before these run.
public enum PeerPolicy: Sendable, Equatable {
    /// The leaf must not be a CA.
    case leafNotCA
    /// The leaf must carry exactly one URI SAN and it must parse as a SPIFFE ID.
    case singleSpiffeURISAN
    /// The leaf's SPIFFE trust domain must equal this one (server side).
    case trustDomain(String)
    /// The leaf's SPIFFE ID must be one of these (client side).
    case expectedIdentity(Set<SpiffeID>)

    /// Returns why `leaf` fails this policy, or nil when it passes.
    public func check(_ leaf: Certificate) -> PeerRejection? {
        switch self {
        case .leafNotCA:
            return leaf.isCA ? .leafIsCA : nil
        case .singleSpiffeURISAN:
            let uris = leaf.uriSANs
            guard uris.count == 1 else { return .uriSANCount(uris.count) }
            do { _ = try SpiffeID.parse(uris[0]) } catch { return .notSpiffeID(uri: uris[0], reason: error.description) }
            return nil
        case .trustDomain(let td):
            guard let id = PeerPolicy.identity(of: leaf) else { return .uriSANCount(leaf.uriSANs.count) }
            return id.trustDomain == td ? nil : .trustDomainMismatch(expected: td, got: id.trustDomain)
        case .expectedIdentity(let expected):
            guard let id = PeerPolicy.identity(of: leaf) else { return .uriSANCount(leaf.uriSANs.count) }
            return expected.contains(id) ? nil
                : .identityNotExpected(expected: expected.map(\.uri).sorted(), got: id.uri)
        }
    }

    /// Runs `policies` in order and returns the first rejection.
    public static func evaluate(_ policies: [PeerPolicy], on leaf: Certificate) -> PeerRejection? {
        for p in policies { if let r = p.check(leaf) { return r } }
        return nil
    }

    /// The policies a server applies to clients: not CA, one SPIFFE URI SAN, same trust domain.
    public static func server(trustDomain: String) -> [PeerPolicy] {
        [.leafNotCA, .singleSpiffeURISAN, .trustDomain(trustDomain)]
    }

    /// The policies a client applies to a server: not CA, one SPIFFE URI SAN, an expected identity.
    public static func client(expecting identities: Set<SpiffeID>) -> [PeerPolicy] {
        [.leafNotCA, .singleSpiffeURISAN, .expectedIdentity(identities)]
    }

    static func identity(of leaf: Certificate) -> SpiffeID? {
        let uris = leaf.uriSANs
        return uris.count == 1 ? SpiffeID(uris[0]) : nil
    }
}
