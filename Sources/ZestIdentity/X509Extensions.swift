internal import COpenSSL

/// Builds one X.509v3 extension from OpenSSL's config syntax (`X509V3_EXT_conf_nid`),
/// e.g. `(NID_basic_constraints, "critical,CA:FALSE")`, with `issuer`/`subject` for key ids.
func makeExtension(_ nid: Int32, _ value: String, issuer: OpaquePointer? = nil,
                   subject: OpaquePointer? = nil, request: OpaquePointer? = nil) throws(IdentityError) -> OpaquePointer {
    var ctx = X509V3_CTX()
    X509V3_set_ctx(&ctx, issuer, subject, request, nil, 0)
    guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else {
        throw .openSSL(operation: "X509V3_EXT_conf_nid(\(value))", detail: takeOpenSSLErrors())
    }
    return ext
}

/// Adds extensions to a certificate (`X509_add_ext`), freeing each one afterwards.
func addExtensions(to x509: OpaquePointer, _ specs: [(Int32, String)], issuer: OpaquePointer) throws(IdentityError) {
    for (nid, value) in specs {
        let ext = try makeExtension(nid, value, issuer: issuer, subject: x509)
        defer { X509_EXTENSION_free(ext) }
        guard X509_add_ext(x509, ext, -1) == 1 else {
            throw .openSSL(operation: "X509_add_ext(\(value))", detail: takeOpenSSLErrors())
        }
    }
}

/// Sets a fresh random 159-bit serial number (`BN_rand`, `BN_to_ASN1_INTEGER`).
func setRandomSerial(_ x509: OpaquePointer) throws(IdentityError) {
    guard let bn = BN_new() else { throw .openSSL(operation: "BN_new", detail: takeOpenSSLErrors()) }
    defer { BN_free(bn) }
    guard BN_rand(bn, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
          BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509)) != nil else {
        throw .openSSL(operation: "BN_rand serial", detail: takeOpenSSLErrors())
    }
}

/// Sets notBefore/notAfter from Unix times (`ASN1_TIME_set`).
func setValidity(_ x509: OpaquePointer, notBefore: Int, notAfter: Int) throws(IdentityError) {
    guard ASN1_TIME_set(X509_getm_notBefore(x509), time_t(notBefore)) != nil,
          ASN1_TIME_set(X509_getm_notAfter(x509), time_t(notAfter)) != nil else {
        throw .openSSL(operation: "ASN1_TIME_set", detail: takeOpenSSLErrors())
    }
}
