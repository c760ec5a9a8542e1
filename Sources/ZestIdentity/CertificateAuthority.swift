internal import COpenSSL
import Foundation
import ZestCore

/// A signing certificate and key that issue workload leaves: either Zest's own root or an
/// operator's root/intermediate. Holds the chain back to the roots it hands to workloads.
public final class CertificateAuthority: Sendable {
    public let signingCertificate: Certificate
    let signingKey: PrivateKey
    /// Certificates from the signing certificate up to (excluding) the root; empty when
    /// the signing certificate is itself the root.
    public let intermediates: [Certificate]
    public let roots: [Certificate]
    public let trustDomain: String

    /// Checks that the key matches, that the signing certificate is a CA and that it chains
    /// to one of `roots` through `intermediates` (`X509_verify_cert`).
    public init(signingCertificate: Certificate, signingKey: PrivateKey, intermediates: [Certificate],
                roots: [Certificate], trustDomain: String, source: String) throws(IdentityError) {
        guard signingKey.matches(signingCertificate) else {
            throw .keyDoesNotMatchCertificate(keySource: "\(source) signing key", certificateSource: "\(source) signing certificate")
        }
        guard signingCertificate.isCA else {
            throw .invalidSigningCertificate(source: source, reason: "basicConstraints is not CA:TRUE")
        }
        if let reason = chainFailure(signingCertificate, intermediates: intermediates, roots: roots, at: Date()) {
            throw .invalidSigningCertificate(source: source, reason: "it does not chain to the roots (\(reason))")
        }
        self.signingCertificate = signingCertificate
        self.signingKey = signingKey
        self.intermediates = intermediates
        self.roots = roots
        self.trustDomain = trustDomain
    }

    /// Makes a self-signed ECDSA P-256 root (CA:TRUE, keyCertSign|cRLSign) valid for `lifetime`.
    public static func generateRoot(trustDomain: String, lifetime: Duration = .seconds(10 * 365 * 86400),
                                    now: Date = Date()) throws(IdentityError) -> (Certificate, PrivateKey) {
        let key = try PrivateKey.generateP256()
        guard let x = X509_new() else { throw .openSSL(operation: "X509_new", detail: takeOpenSSLErrors()) }
        let cert = Certificate(taking: x)
        guard let name = X509_get_subject_name(x),
              X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, trustDomain, -1, -1, 0) == 1,
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, "Zest root CA", -1, -1, 0) == 1,
              X509_set_issuer_name(x, name) == 1,
              X509_set_version(x, 2) == 1,
              X509_set_pubkey(x, key.pkey) == 1 else {
            throw .openSSL(operation: "building the root certificate", detail: takeOpenSSLErrors())
        }
        try setRandomSerial(x)
        let start = Int(now.timeIntervalSince1970) - 60
        try setValidity(x, notBefore: start, notAfter: start + Int(lifetime.components.seconds))
        try addExtensions(to: x, [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ], issuer: x)
        guard X509_sign(x, key.pkey, EVP_sha256()) > 0 else {
            throw .openSSL(operation: "X509_sign(root)", detail: takeOpenSSLErrors())
        }
        return (cert, key)
    }

    /// Signs a leaf for the CSR's one SPIFFE URI SAN, which must equal `identity` and lie in
    /// this CA's trust domain. The leaf: empty subject, critical URI SAN, CA:FALSE,
    /// digitalSignature+keyEncipherment, serverAuth+clientAuth, valid `lifetime` from `now`
    /// (backdated one minute for clock skew), never past the signing certificate.
    public func sign(_ csr: CertificateSigningRequest, for identity: SpiffeID, lifetime: Duration,
                     now: Date = Date()) throws(IdentityError) -> Certificate {
        guard csr.signatureIsValid else { throw .invalidCSR(reason: "its signature does not verify") }
        let uris = csr.uriSANs
        guard uris == [identity.uri] else {
            throw .invalidCSR(reason: "it requests URI SANs \(uris), expected exactly [\(identity.uri)]")
        }
        guard identity.trustDomain == trustDomain else {
            throw .invalidCSR(reason: "trust domain \(identity.trustDomain) is not this CA's (\(trustDomain))")
        }
        guard let x = X509_new() else { throw .openSSL(operation: "X509_new", detail: takeOpenSSLErrors()) }
        let leaf = Certificate(taking: x)
        guard X509_set_version(x, 2) == 1,
              X509_set_issuer_name(x, X509_get_subject_name(signingCertificate.x509)) == 1,
              let pub = X509_REQ_get0_pubkey(csr.request), X509_set_pubkey(x, pub) == 1 else {
            throw .openSSL(operation: "building the leaf certificate", detail: takeOpenSSLErrors())
        }
        try setRandomSerial(x)
        let start = Int(now.timeIntervalSince1970) - 60
        let end = min(start + 60 + Int(lifetime.components.seconds), Int(signingCertificate.notAfter.timeIntervalSince1970))
        try setValidity(x, notBefore: start, notAfter: end)
        try addExtensions(to: x, [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature,keyEncipherment"),
            (NID_ext_key_usage, "serverAuth,clientAuth"),
            (NID_subject_alt_name, "critical,URI:\(identity.uri)"),
            (NID_authority_key_identifier, "keyid:always"),
        ], issuer: signingCertificate.x509)
        guard X509_sign(x, signingKey.pkey, EVP_sha256()) > 0 else {
            throw .openSSL(operation: "X509_sign(leaf)", detail: takeOpenSSLErrors())
        }
        return leaf
    }

    /// Signs an intermediate CA certificate for `key` (CA:TRUE, pathlen 0), e.g. to build an
    /// Istio `cacerts` directory whose signing certificate is not the root.
    public func signIntermediate(key: PrivateKey, name: String, lifetime: Duration = .seconds(365 * 86400),
                                 now: Date = Date()) throws(IdentityError) -> Certificate {
        guard let x = X509_new() else { throw .openSSL(operation: "X509_new", detail: takeOpenSSLErrors()) }
        let cert = Certificate(taking: x)
        guard let subject = X509_get_subject_name(x),
              X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, trustDomain, -1, -1, 0) == 1,
              X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, name, -1, -1, 0) == 1,
              X509_set_issuer_name(x, X509_get_subject_name(signingCertificate.x509)) == 1,
              X509_set_version(x, 2) == 1,
              X509_set_pubkey(x, key.pkey) == 1 else {
            throw .openSSL(operation: "building the intermediate certificate", detail: takeOpenSSLErrors())
        }
        try setRandomSerial(x)
        let start = Int(now.timeIntervalSince1970) - 60
        let end = min(start + Int(lifetime.components.seconds), Int(signingCertificate.notAfter.timeIntervalSince1970))
        try setValidity(x, notBefore: start, notAfter: end)
        try addExtensions(to: x, [
            (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ], issuer: signingCertificate.x509)
        guard X509_sign(x, signingKey.pkey, EVP_sha256()) > 0 else {
            throw .openSSL(operation: "X509_sign(intermediate)", detail: takeOpenSSLErrors())
        }
        return cert
    }

    /// Generates a P-256 key and CSR for `identity`, signs it, and returns the full bundle.
    public func issue(for identity: SpiffeID, lifetime: Duration = .seconds(86400),
                      now: Date = Date()) throws(IdentityError) -> WorkloadCertificate {
        let key = try PrivateKey.generateP256()
        let csr = try CertificateSigningRequest(identity: identity, key: key)
        let leaf = try sign(csr, for: identity, lifetime: lifetime, now: now)
        let chain = signingCertificate.isSelfSigned ? [] : [signingCertificate] + intermediates
        return try WorkloadCertificate(leaf: leaf, privateKey: key, intermediates: chain, roots: roots)
    }
}

/// Verifies `cert` to `roots` through `intermediates` at `date` (`X509_verify_cert`);
/// returns nil when it verifies, else OpenSSL's reason.
func chainFailure(_ cert: Certificate, intermediates: [Certificate], roots: [Certificate], at date: Date) -> String? {
    guard let store = X509_STORE_new(), let ctx = X509_STORE_CTX_new(), let untrusted = OPENSSL_sk_new_null() else {
        return "out of memory"
    }
    defer { X509_STORE_CTX_free(ctx); X509_STORE_free(store); OPENSSL_sk_free(untrusted) }
    for r in roots { X509_STORE_add_cert(store, r.x509) }
    for i in intermediates { OPENSSL_sk_push(untrusted, UnsafeRawPointer(i.x509)) }
    guard X509_STORE_CTX_init(ctx, store, cert.x509, untrusted) == 1 else { return takeOpenSSLErrors() }
    X509_STORE_CTX_set_time(ctx, 0, time_t(date.timeIntervalSince1970))
    defer { clearOpenSSLErrors() }
    if X509_verify_cert(ctx) == 1 { return nil }
    return String(cString: X509_verify_cert_error_string(Int(X509_STORE_CTX_get_error(ctx))))
}
