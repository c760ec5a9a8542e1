import Foundation
import ZestCore

/// What a workload needs for mTLS: its leaf certificate and key, the intermediates that
/// link the leaf to a root, and the roots it trusts for its peers.
public struct WorkloadCertificate: Sendable {
    public let leaf: Certificate
    public let privateKey: PrivateKey
    /// Certificates between the leaf and the root, leaf's issuer first; no roots.
    public let intermediates: [Certificate]
    /// Trust anchors for verifying peers.
    public let roots: [Certificate]
    /// The leaf's SPIFFE identity (its one URI SAN).
    public let identity: SpiffeID

    /// Checks that the key matches the leaf and that the leaf names exactly one SPIFFE identity.
    /// `source` names where the material came from, for errors.
    public init(leaf: Certificate, privateKey: PrivateKey, intermediates: [Certificate],
                roots: [Certificate], keySource: String = "the private key",
                certificateSource: String = "the certificate") throws(IdentityError) {
        guard privateKey.matches(leaf) else {
            throw .keyDoesNotMatchCertificate(keySource: keySource, certificateSource: certificateSource)
        }
        guard !roots.isEmpty else {
            throw .malformedPEM(source: certificateSource, expected: "at least one root certificate", detail: "none was given")
        }
        self.identity = try leaf.spiffeID()
        self.leaf = leaf
        self.privateKey = privateKey
        self.intermediates = intermediates
        self.roots = roots
    }

    public var notBefore: Date { leaf.notBefore }
    public var notAfter: Date { leaf.notAfter }

    /// When to renew: half-way through the leaf's validity (as ztunnel does).
    public var renewalTime: Date {
        notBefore.addingTimeInterval(notAfter.timeIntervalSince(notBefore) / 2)
    }

    /// Whether the leaf is inside its validity window at `date`.
    public func isValid(at date: Date) -> Bool { date >= notBefore && date < notAfter }

    /// Leaf followed by intermediates, in PEM (what `--cert` files hold).
    public var chainPEM: String { ([leaf] + intermediates).map(\.pem).joined() }
    public var rootsPEM: String { roots.map(\.pem).joined() }

    /// Writes the chain (leaf + intermediates), the key (mode 0600) and the roots as PEM files,
    /// each atomically, in the layout `FileCertificateProvider` and `--cert/--key/--ca` read.
    public func writePEMFiles(chain chainPath: String, key keyPath: String, roots rootsPath: String) throws(IdentityError) {
        try writeFileAtomically(keyPath, privateKey.pemPKCS8(), mode: 0o600)
        try writeFileAtomically(chainPath, chainPEM, mode: 0o644)
        try writeFileAtomically(rootsPath, rootsPEM, mode: 0o644)
    }
}
