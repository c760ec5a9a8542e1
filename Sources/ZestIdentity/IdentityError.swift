/// Everything that can go wrong reading, making or fetching keys and certificates.
/// Each case names the file or object involved and what an operator should do about it.
public enum IdentityError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A file could not be read (missing, permissions, I/O error).
    case unreadableFile(path: String, reason: String)
    /// A file could not be written.
    case unwritableFile(path: String, reason: String)
    /// A PEM input held no usable object of the expected kind, or was corrupt.
    case malformedPEM(source: String, expected: String, detail: String)
    /// A private key does not belong to the certificate it was paired with.
    case keyDoesNotMatchCertificate(keySource: String, certificateSource: String)
    /// The state directory is missing and cannot be created, or is not usable.
    case unusableStateDirectory(path: String, reason: String)
    /// A key file is readable by users other than its owner.
    case insecureKeyFile(path: String, mode: UInt32)
    /// An Istio `cacerts` directory lacks a required file.
    case incompleteCACertsDirectory(path: String, missing: [String])
    /// A certificate that should sign others is not a CA, or does not chain to the roots.
    case invalidSigningCertificate(source: String, reason: String)
    /// A certificate does not carry exactly one SPIFFE URI SAN.
    case missingSpiffeIdentity(source: String, reason: String)
    /// A provider returned a certificate for a different identity than requested.
    case identityMismatch(requested: String, got: String)
    /// A certificate signing request was refused.
    case invalidCSR(reason: String)
    /// An OpenSSL call failed; `detail` is OpenSSL's error queue.
    case openSSL(operation: String, detail: String)
    /// No certificate is available for an identity (never fetched, or expired after failed renewals).
    case noCertificate(identity: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let p, let r):
            return "cannot read \(p): \(r); check the path and that Zest may read it"
        case .unwritableFile(let p, let r):
            return "cannot write \(p): \(r); check the directory's permissions and free space"
        case .malformedPEM(let s, let e, let d):
            return "\(s): expected \(e) in PEM form, but \(d)"
        case .keyDoesNotMatchCertificate(let k, let c):
            return "the private key in \(k) does not match the certificate in \(c); supply the key the certificate was issued for"
        case .unusableStateDirectory(let p, let r):
            return "state directory \(p) is unusable: \(r)"
        case .insecureKeyFile(let p, let m):
            return "\(p) has mode \(String(m, radix: 8)); private keys must be readable by their owner only (chmod 600)"
        case .incompleteCACertsDirectory(let p, let m):
            return "Istio cacerts directory \(p) lacks \(m.joined(separator: ", ")); it needs ca-cert.pem, ca-key.pem and root-cert.pem (cert-chain.pem when ca-cert.pem is an intermediate)"
        case .invalidSigningCertificate(let s, let r):
            return "\(s) cannot sign workload certificates: \(r)"
        case .missingSpiffeIdentity(let s, let r):
            return "\(s) has no usable SPIFFE identity: \(r)"
        case .identityMismatch(let r, let g):
            return "asked for a certificate for \(r) but got one for \(g)"
        case .invalidCSR(let r):
            return "certificate signing request refused: \(r)"
        case .openSSL(let o, let d):
            return "OpenSSL \(o) failed: \(d)"
        case .noCertificate(let i, let r):
            return "no certificate for \(i): \(r)"
        }
    }
}
