internal import COpenSSL
import ZestCore

/// A PKCS#10 certificate signing request (an owned `X509_REQ`). Zest's requests carry an
/// empty subject and exactly one extension: the URI SAN with the workload's SPIFFE ID.
public final class CertificateSigningRequest: @unchecked Sendable {
    package let request: OpaquePointer

    private init(taking request: OpaquePointer) { self.request = request }

    deinit { X509_REQ_free(request) }

    /// Makes and signs (SHA-256) a request for `identity` with `key`
    /// (`X509_REQ_new`, `X509_REQ_add_extensions`, `X509_REQ_sign`).
    public convenience init(identity: SpiffeID, key: PrivateKey) throws(IdentityError) {
        guard let req = X509_REQ_new() else { throw .openSSL(operation: "X509_REQ_new", detail: takeOpenSSLErrors()) }
        self.init(taking: req)
        let ext = try makeExtension(NID_subject_alt_name, "critical,URI:\(identity.uri)")
        guard let stack = OPENSSL_sk_new_null() else {
            X509_EXTENSION_free(ext)
            throw .openSSL(operation: "OPENSSL_sk_new_null", detail: takeOpenSSLErrors())
        }
        defer { OPENSSL_sk_free(stack); X509_EXTENSION_free(ext) }
        _ = OPENSSL_sk_push(stack, UnsafeRawPointer(ext))
        guard X509_REQ_set_version(req, 0) == 1,
              X509_REQ_set_pubkey(req, key.pkey) == 1,
              X509_REQ_add_extensions(req, stack) == 1,
              X509_REQ_sign(req, key.pkey, EVP_sha256()) > 0 else {
            throw .openSSL(operation: "building the CSR", detail: takeOpenSSLErrors())
        }
    }

    /// Parses a PEM request (`PEM_read_bio_X509_REQ`).
    public convenience init(pem: String, source: String) throws(IdentityError) {
        clearOpenSSLErrors()
        let req = try withMemoryBIO(Array(pem.utf8)) { bio throws(IdentityError) -> OpaquePointer in
            guard let r = PEM_read_bio_X509_REQ(bio, nil, nil, nil) else {
                throw .malformedPEM(source: source, expected: "a certificate request", detail: takeOpenSSLErrors())
            }
            return r
        }
        self.init(taking: req)
    }

    /// The request in PEM form (`PEM_write_bio_X509_REQ`).
    public func pem() throws(IdentityError) -> String {
        try stringFromMemoryBIO("PEM_write_bio_X509_REQ") { PEM_write_bio_X509_REQ($0, request) }
    }

    /// Whether the request's signature verifies with its own public key (`X509_REQ_verify`).
    public var signatureIsValid: Bool {
        defer { clearOpenSSLErrors() }
        guard let key = X509_REQ_get0_pubkey(request) else { return false }
        return X509_REQ_verify(request, key) == 1
    }

    /// Whether the subject name is empty (Zest's requests name the workload only by URI SAN).
    public var subjectIsEmpty: Bool { X509_NAME_entry_count(X509_REQ_get_subject_name(request)) == 0 }

    /// The NIDs of all requested extensions (`X509_REQ_get_extensions`).
    package var extensionNIDs: [Int32] {
        withExtensions { exts in
            (0..<OPENSSL_sk_num(exts)).map { i in
                X509_EXTENSION_get_object(OpaquePointer(OPENSSL_sk_value(exts, i))).map { OBJ_obj2nid($0) } ?? 0
            }
        } ?? []
    }

    /// Number of requested extensions; Zest's requests carry exactly one (the SAN).
    public var extensionCount: Int { extensionNIDs.count }

    /// URI SANs requested (walks the subjectAltName extension's GENERAL_NAMEs).
    public var uriSANs: [String] {
        withExtensions { exts -> [String] in
            guard let raw = X509V3_get_d2i(exts, NID_subject_alt_name, nil, nil) else { return [] }
            let names = OpaquePointer(raw)
            defer { GENERAL_NAMES_free(names) }
            return (0..<OPENSSL_sk_num(names)).compactMap { i in
                guard let gn = OPENSSL_sk_value(names, i)?.assumingMemoryBound(to: GENERAL_NAME.self),
                      gn.pointee.type == GEN_URI, let s = gn.pointee.d.ia5 else { return nil }
                return asn1String(s)
            }
        } ?? []
    }

    private func withExtensions<T>(_ body: (OpaquePointer) -> T) -> T? {
        guard let exts = X509_REQ_get_extensions(request) else { clearOpenSSLErrors(); return nil }
        defer {
            while let e = OPENSSL_sk_pop(exts) { X509_EXTENSION_free(OpaquePointer(e)) }
            OPENSSL_sk_free(exts)
        }
        return body(exts)
    }
}
