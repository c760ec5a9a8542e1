internal import COpenSSL
import ZestCore
import ZestIdentity

/// Which end of the handshake a context serves.
public enum TLSRole: Sendable, Equatable {
    case server
    case client
}

/// An OpenSSL `SSL_CTX` configured for HBONE: TLS 1.3 only, AES-GCM suites, ALPN `h2`
/// required on both sides, no SNI, no tickets or resumption, mutual certificates with
/// SPIFFE checks inside the handshake. Immutable after `init`, so safe to share across
/// workers (`SSL_CTX` is thread-safe once configured).
public final class TLSContext: @unchecked Sendable {
    public let role: TLSRole
    /// The certificate this side presents.
    public let certificate: WorkloadCertificate
    public let settings: TLSSettings
    public let counters: TLSCounters
    package let ctx: OpaquePointer
    /// `\x02h2` in stable memory: the ALPN select callback points OpenSSL's `out` into it.
    private let alpnWire: UnsafeMutablePointer<UInt8>

    /// Builds the context (`SSL_CTX_new`, `SSL_CTX_use_certificate`, `SSL_CTX_add1_chain_cert`,
    /// `X509_STORE_add_cert`, `SSL_CTX_set_cert_verify_callback`, ALPN callbacks).
    public init(role: TLSRole, certificate: WorkloadCertificate, settings: TLSSettings = TLSSettings(),
                counters: TLSCounters = TLSCounters()) throws(TLSError) {
        clearOpenSSLErrors()
        guard let ctx = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw .configuration("SSL_CTX_new: \(takeOpenSSLErrors())")
        }
        self.ctx = ctx
        self.role = role
        self.certificate = certificate
        self.settings = settings
        self.counters = counters
        alpnWire = .allocate(capacity: 3)
        alpnWire.initialize(from: [2, 0x68, 0x32], count: 3)
        try configure()
    }

    deinit {
        SSL_CTX_free(ctx)
        alpnWire.deallocate()
    }

    /// The trust domain of this side's own identity (what a server requires of clients).
    public var trustDomain: String { certificate.identity.trustDomain }

    private func configure() throws(TLSError) {
        func check(_ ok: Bool, _ what: String) throws(TLSError) {
            if !ok { throw .configuration("\(what): \(takeOpenSSLErrors())") }
        }
        try check(zest_SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1, "TLS 1.3 minimum")
        try check(zest_SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1, "TLS 1.3 maximum")
        let suites = settings.cipherSuites.map(\.rawValue).joined(separator: ":")
        try check(!settings.cipherSuites.isEmpty && SSL_CTX_set_ciphersuites(ctx, suites) == 1, "cipher suites \(suites)")
        try check(zest_SSL_CTX_set1_groups_list(ctx, settings.groups.joined(separator: ":")) == 1, "groups \(settings.groups)")
        var options = zest_SSL_OP_NO_TICKET() | zest_SSL_OP_NO_COMPRESSION() | zest_SSL_OP_NO_RENEGOTIATION()
        if role == .server { options |= zest_SSL_OP_CIPHER_SERVER_PREFERENCE() }
        _ = SSL_CTX_set_options(ctx, options)
        try check(SSL_CTX_set_num_tickets(ctx, 0) == 1, "disabling session tickets")
        _ = zest_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        _ = zest_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        if settings.readAheadBytes > 0 {
            // SSL_CTX_set_read_ahead is a macro over SSL_CTX_ctrl.
            _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, 1, nil)
            SSL_CTX_set_default_read_buffer_len(ctx, settings.readAheadBytes)
        }

        try check(SSL_CTX_use_certificate(ctx, certificate.leaf.x509) == 1, "loading the leaf certificate")
        try check(SSL_CTX_use_PrivateKey(ctx, certificate.privateKey.pkey) == 1, "loading the private key")
        try check(SSL_CTX_check_private_key(ctx) == 1, "the private key does not match the leaf")
        for c in certificate.intermediates {
            try check(zest_SSL_CTX_add1_chain_cert(ctx, c.x509) == 1, "adding an intermediate certificate")
        }
        guard let store = SSL_CTX_get_cert_store(ctx) else { throw .configuration("SSL_CTX_get_cert_store returned nil") }
        for r in certificate.roots {
            try check(X509_STORE_add_cert(store, r.x509) == 1, "adding a root certificate")
        }

        let verifyMode = role == .server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER
        SSL_CTX_set_verify(ctx, verifyMode, nil)
        let me = Unmanaged.passUnretained(self).toOpaque()
        SSL_CTX_set_cert_verify_callback(ctx, certVerifyCallback, me)
        SSL_CTX_set_info_callback(ctx, alertInfoCallback)
        switch role {
        case .server:
            SSL_CTX_set_alpn_select_cb(ctx, alpnSelectCallback, me)
            SSL_CTX_set_client_hello_cb(ctx, clientHelloCallback, me)
        case .client:
            // Returns 0 on success, unlike most OpenSSL calls (C-INTEROP §4.1).
            try check(SSL_CTX_set_alpn_protos(ctx, alpnWire, 3) == 0, "setting ALPN h2")
        }
    }

    /// The policies this context applies to a peer leaf for a connection expecting `identities`.
    func policies(expecting identities: Set<SpiffeID>) -> [PeerPolicy] {
        role == .server ? PeerPolicy.server(trustDomain: trustDomain) : PeerPolicy.client(expecting: identities)
    }

    /// Points `out` at the context's own `h2` bytes.
    fileprivate func selectH2(_ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ outlen: UnsafeMutablePointer<UInt8>) {
        out.pointee = UnsafePointer(alpnWire + 1)
        outlen.pointee = 2
    }
}

/// Finds the connection that owns `ssl` (ex_data slot 0, set unretained by `TLSConnection`).
func owningConnection(_ ssl: OpaquePointer?) -> TLSConnection? {
    guard let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return nil }
    return Unmanaged<TLSConnection>.fromOpaque(raw).takeUnretainedValue()
}

/// Runs OpenSSL's chain verification, then the SPIFFE policies; a failure sets
/// `X509_V_ERR_APPLICATION_VERIFICATION` (or keeps OpenSSL's code) and records the reason.
private let certVerifyCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { store, arg in
    guard let store, let arg else { return 0 }
    let context = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
    let ssl = OpaquePointer(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()))
    guard let connection = owningConnection(ssl) else {
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
        return 0
    }
    guard X509_verify_cert(store) == 1 else {
        let code = X509_STORE_CTX_get_error(store)
        connection.recordRejection(.chainInvalid(code: Int(code),
                                                 reason: String(cString: X509_verify_cert_error_string(Int(code)))))
        return 0
    }
    guard let leafPointer = X509_STORE_CTX_get0_cert(store) else {
        connection.recordRejection(.noPeerCertificate)
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
        return 0
    }
    let leaf = Certificate(retaining: leafPointer)
    var rejection = PeerPolicy.evaluate(context.policies(expecting: connection.expectedPeerIdentities), on: leaf)
    if rejection == nil, context.role == .client, connection.negotiatedProtocol != TLSSettings.alpn {
        // The server's EncryptedExtensions (with ALPN) precede its Certificate in TLS 1.3.
        rejection = .alpnNotNegotiated(offered: "server selected \(connection.negotiatedProtocol ?? "no protocol")")
    }
    if let rejection {
        connection.recordRejection(rejection)
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
        return 0
    }
    connection.recordVerifiedPeer(leaf)
    return 1
}

/// Selects `h2` from the client's list, or fails the handshake with no_application_protocol.
private let alpnSelectCallback: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { ssl, out, outlen, input, inlen, arg in
    guard let out, let outlen, let arg else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let context = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
    var offered: [String] = []
    if let input {
        var i = 0
        let n = Int(inlen)
        while i < n {
            let len = Int(input[i])
            guard i + 1 + len <= n else { break }
            let proto = UnsafeBufferPointer(start: input + i + 1, count: len)
            offered.append(String(decoding: proto, as: UTF8.self))
            if len == 2 && proto[0] == 0x68 && proto[1] == 0x32 {
                context.selectH2(out, outlen)
                return SSL_TLSEXT_ERR_OK
            }
            i += 1 + len
        }
    }
    owningConnection(ssl)?.recordRejection(.alpnNotNegotiated(offered: "client offered \(offered)"))
    return SSL_TLSEXT_ERR_ALERT_FATAL
}

/// Refuses a TLS 1.3 ClientHello without the ALPN extension (no_application_protocol):
/// the ALPN select callback never runs when the extension is absent.
private let clientHelloCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, alert, _ in
    guard let ssl else { return SSL_CLIENT_HELLO_ERROR }
    var data: UnsafePointer<UInt8>? = nil
    var len = 0
    // Without supported_versions (43) the client offers only TLS ≤ 1.2; let version
    // negotiation refuse it with protocol_version, the more telling alert.
    guard SSL_client_hello_get0_ext(ssl, 43, &data, &len) == 1 else { return SSL_CLIENT_HELLO_SUCCESS }
    if SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &len) == 1 {
        return SSL_CLIENT_HELLO_SUCCESS
    }
    owningConnection(ssl)?.recordRejection(.alpnNotNegotiated(offered: "client sent no ALPN extension"))
    alert?.pointee = Int32(SSL_AD_NO_APPLICATION_PROTOCOL)
    return SSL_CLIENT_HELLO_ERROR
}

/// Records alerts sent and received on the connection (`SSL_CB_ALERT` in the info callback).
private let alertInfoCallback: @convention(c) (OpaquePointer?, Int32, Int32) -> Void = { ssl, location, value in
    guard location & SSL_CB_ALERT != 0, let connection = owningConnection(ssl) else { return }
    let alert = TLSAlert(code: Int(value & 0xff), name: String(cString: SSL_alert_desc_string_long(value)))
    if location & SSL_CB_READ != 0 { connection.recordAlert(received: alert) } else { connection.recordAlert(sent: alert) }
}
