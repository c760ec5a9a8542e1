internal import COpenSSL
import Foundation
import ZestCore

/// An X.509 certificate (an owned OpenSSL `X509`), immutable once parsed.
/// Reading an `X509` from several threads is safe, hence `@unchecked Sendable`.
public final class Certificate: @unchecked Sendable, CustomStringConvertible {
    /// The owned `X509*`. Package-visible so ZestTLS can hand it to OpenSSL.
    package let x509: OpaquePointer

    /// Takes ownership of one reference to `x509`.
    package init(taking x509: OpaquePointer) { self.x509 = x509 }

    /// Shares `x509` by taking a new reference (`X509_up_ref`).
    package init(retaining x509: OpaquePointer) {
        X509_up_ref(x509)
        self.x509 = x509
    }

    deinit { X509_free(x509) }

    /// Parses every certificate in a PEM text (`PEM_read_bio_X509`), in order.
    /// `source` names the file (or other origin) in errors.
    public static func parseChain(pem: [UInt8], source: String) throws(IdentityError) -> [Certificate] {
        clearOpenSSLErrors()
        let certs = try withMemoryBIO(pem) { bio throws(IdentityError) -> [Certificate] in
            var out: [Certificate] = []
            while let x = PEM_read_bio_X509(bio, nil, nil, nil) { out.append(Certificate(taking: x)) }
            return out
        }
        // Reading stops with "no start line" at the end of input; anything else is corruption.
        let code = ERR_peek_last_error()
        let endOfInput = ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE
        if code != 0 && !endOfInput {
            throw .malformedPEM(source: source, expected: "certificates",
                                detail: "certificate \(certs.count + 1) is corrupt (\(takeOpenSSLErrors()))")
        }
        clearOpenSSLErrors()
        guard !certs.isEmpty else {
            throw .malformedPEM(source: source, expected: "a certificate",
                                detail: "no '-----BEGIN CERTIFICATE-----' block was found")
        }
        return certs
    }

    public static func parseChain(pem: String, source: String) throws(IdentityError) -> [Certificate] {
        try parseChain(pem: Array(pem.utf8), source: source)
    }

    /// Reads every certificate in a PEM file.
    public static func load(chainFile path: String) throws(IdentityError) -> [Certificate] {
        try parseChain(pem: readFileBytes(path), source: path)
    }

    /// Parses exactly one certificate.
    public convenience init(pem: String, source: String) throws(IdentityError) {
        let chain = try Certificate.parseChain(pem: pem, source: source)
        guard chain.count == 1 else {
            throw .malformedPEM(source: source, expected: "one certificate", detail: "it holds \(chain.count)")
        }
        self.init(retaining: chain[0].x509)
    }

    /// The certificate in PEM form (`PEM_write_bio_X509`).
    public var pem: String {
        (try? stringFromMemoryBIO("PEM_write_bio_X509") { PEM_write_bio_X509($0, x509) }) ?? ""
    }

    /// The DER encoding (`i2d_X509`).
    public var der: [UInt8] {
        let n = i2d_X509(x509, nil)
        guard n > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(n))
        out.withUnsafeMutableBufferPointer { b in
            var p: UnsafeMutablePointer<UInt8>? = b.baseAddress
            _ = i2d_X509(x509, &p)
        }
        return out
    }

    /// URI subject alternative names, in certificate order.
    public var uriSANs: [String] { subjectAltNames(ofType: GEN_URI) }

    /// DNS subject alternative names, in certificate order.
    public var dnsSANs: [String] { subjectAltNames(ofType: GEN_DNS) }

    private func subjectAltNames(ofType type: Int32) -> [String] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var out: [String] = []
        for i in 0..<OPENSSL_sk_num(names) {
            guard let gn = OPENSSL_sk_value(names, i)?.assumingMemoryBound(to: GENERAL_NAME.self),
                  gn.pointee.type == type, let s = gn.pointee.d.ia5 else { continue }
            out.append(asn1String(s))
        }
        return out
    }

    /// The SPIFFE identity: the certificate must carry exactly one URI SAN and it must parse.
    public func spiffeID() throws(IdentityError) -> SpiffeID {
        let uris = uriSANs
        guard uris.count == 1 else {
            throw .missingSpiffeIdentity(source: subject, reason: "it has \(uris.count) URI SANs; exactly one is required")
        }
        do { return try SpiffeID.parse(uris[0]) } catch {
            throw .missingSpiffeIdentity(source: subject, reason: "URI SAN '\(uris[0])': \(error)")
        }
    }

    public var notBefore: Date { date(X509_get0_notBefore(x509)) }
    public var notAfter: Date { date(X509_get0_notAfter(x509)) }

    /// Whether basicConstraints says CA:TRUE (`X509_get_extension_flags` & `EXFLAG_CA`).
    public var isCA: Bool { X509_get_extension_flags(x509) & UInt32(EXFLAG_CA) != 0 }

    /// Whether the certificate is self-signed (`X509_get_extension_flags` & `EXFLAG_SS`).
    public var isSelfSigned: Bool { X509_get_extension_flags(x509) & UInt32(EXFLAG_SS) != 0 }

    /// Extended key usages (`X509_get_extended_key_usage`); empty when the extension is absent.
    public var extendedKeyUsages: Set<ExtendedKeyUsage> {
        guard X509_get_extension_flags(x509) & UInt32(EXFLAG_XKUSAGE) != 0 else { return [] }
        let bits = X509_get_extended_key_usage(x509)
        var out: Set<ExtendedKeyUsage> = []
        if bits & UInt32(XKU_SSL_SERVER) != 0 { out.insert(.serverAuth) }
        if bits & UInt32(XKU_SSL_CLIENT) != 0 { out.insert(.clientAuth) }
        return out
    }

    /// Key usages (`X509_get_key_usage`); empty when the extension is absent.
    public var keyUsages: Set<KeyUsage> {
        guard X509_get_extension_flags(x509) & UInt32(EXFLAG_KUSAGE) != 0 else { return [] }
        let bits = X509_get_key_usage(x509)
        var out: Set<KeyUsage> = []
        if bits & UInt32(KU_DIGITAL_SIGNATURE) != 0 { out.insert(.digitalSignature) }
        if bits & UInt32(KU_KEY_ENCIPHERMENT) != 0 { out.insert(.keyEncipherment) }
        if bits & UInt32(KU_KEY_CERT_SIGN) != 0 { out.insert(.keyCertSign) }
        if bits & UInt32(KU_CRL_SIGN) != 0 { out.insert(.crlSign) }
        return out
    }

    /// The serial number in lowercase hex (`ASN1_INTEGER_to_BN`, `BN_bn2hex`).
    public var serialNumberHex: String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { zest_OPENSSL_free(hex) }
        return String(cString: hex).lowercased()
    }

    /// The subject name in one line (`X509_NAME_print_ex`, RFC 2253), or "(empty subject)".
    public var subject: String { nameLine(X509_get_subject_name(x509)) }
    public var issuer: String { nameLine(X509_get_issuer_name(x509)) }

    /// Whether `issuer`'s key signed this certificate (`X509_verify`).
    public func isSigned(by issuer: Certificate) -> Bool {
        guard let key = X509_get0_pubkey(issuer.x509) else { return false }
        defer { clearOpenSSLErrors() }
        return X509_verify(x509, key) == 1
    }

    /// Byte-for-byte equality of the DER encodings (`X509_cmp`).
    public func isSameCertificate(as other: Certificate) -> Bool { X509_cmp(x509, other.x509) == 0 }

    public var description: String {
        "certificate subject=\(subject) SANs=\(uriSANs + dnsSANs) serial=\(serialNumberHex)"
    }

    private func nameLine(_ name: OpaquePointer?) -> String {
        guard let name, X509_NAME_entry_count(name) > 0 else { return "(empty subject)" }
        let text = try? stringFromMemoryBIO("X509_NAME_print_ex") { bio in
            X509_NAME_print_ex(bio, name, 0, zest_XN_FLAG_RFC2253()) >= 0 ? 1 : 0
        }
        return text ?? "(unprintable name)"
    }

    private func date(_ t: UnsafePointer<ASN1_TIME>?) -> Date {
        var tm = tm()
        guard let t, ASN1_TIME_to_tm(t, &tm) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
    }
}

/// Reads an ASN.1 string's bytes (`ASN1_STRING_get0_data`, `ASN1_STRING_length`) as UTF-8.
func asn1String(_ s: UnsafeMutablePointer<ASN1_STRING>) -> String {
    guard let data = ASN1_STRING_get0_data(s) else { return "" }
    return String(decoding: UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(s))), as: UTF8.self)
}

public enum ExtendedKeyUsage: String, Hashable, Sendable {
    case serverAuth, clientAuth
}

public enum KeyUsage: String, Hashable, Sendable {
    case digitalSignature, keyEncipherment, keyCertSign, crlSign
}
