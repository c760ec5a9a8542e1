internal import COpenSSL

/// A private key (an owned OpenSSL `EVP_PKEY`). Zest generates ECDSA P-256 keys; keys read
/// from files may be any type OpenSSL supports (operators' CA keys are often RSA).
public final class PrivateKey: @unchecked Sendable {
    /// The owned `EVP_PKEY*`. Package-visible so ZestTLS can hand it to OpenSSL.
    package let pkey: OpaquePointer

    package init(taking pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// Generates an ECDSA P-256 key (`EVP_PKEY_keygen` with group "P-256").
    public static func generateP256() throws(IdentityError) -> PrivateKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .openSSL(operation: "EVP_PKEY_CTX_new_from_name(EC)", detail: takeOpenSSLErrors())
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(ctx) == 1,
              EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1,
              EVP_PKEY_generate(ctx, &key) == 1, let key else {
            throw .openSSL(operation: "EVP_PKEY_generate(P-256)", detail: takeOpenSSLErrors())
        }
        return PrivateKey(taking: key)
    }

    /// Parses a PEM private key (PKCS#8, SEC1 or PKCS#1; `PEM_read_bio_PrivateKey`).
    public convenience init(pem: [UInt8], source: String) throws(IdentityError) {
        clearOpenSSLErrors()
        // OpenSSL 3's decoder reports a missing block only as "unsupported"; say it plainly.
        guard String(decoding: pem, as: UTF8.self).contains("PRIVATE KEY-----") else {
            throw .malformedPEM(source: source, expected: "a private key",
                                detail: "no '-----BEGIN PRIVATE KEY-----' block was found")
        }
        let key = try withMemoryBIO(pem) { bio throws(IdentityError) -> OpaquePointer in
            guard let k = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw .malformedPEM(source: source, expected: "a private key",
                                    detail: "the key is corrupt or encrypted (\(takeOpenSSLErrors()))")
            }
            return k
        }
        self.init(taking: key)
    }

    public convenience init(pem: String, source: String) throws(IdentityError) {
        try self.init(pem: Array(pem.utf8), source: source)
    }

    /// Reads a PEM private key file.
    public convenience init(file path: String) throws(IdentityError) {
        try self.init(pem: readFileBytes(path), source: path)
    }

    /// The key as unencrypted PKCS#8 PEM (`PEM_write_bio_PrivateKey`).
    public func pemPKCS8() throws(IdentityError) -> String {
        try stringFromMemoryBIO("PEM_write_bio_PrivateKey") {
            PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil)
        }
    }

    /// Whether this key is the private half of `certificate`'s public key (`X509_check_private_key`).
    public func matches(_ certificate: Certificate) -> Bool {
        defer { clearOpenSSLErrors() }
        return X509_check_private_key(certificate.x509, pkey) == 1
    }

    /// The key's algorithm and size, e.g. "EC 256" (`EVP_PKEY_get0_type_name`, `EVP_PKEY_get_bits`).
    public var algorithm: String {
        let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
        return "\(name) \(EVP_PKEY_get_bits(pkey))"
    }
}
