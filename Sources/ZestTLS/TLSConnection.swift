internal import COpenSSL
import Glibc
import ZestCore
import ZestIdentity

/// One TLS session over a nonblocking socket. Each call does as much as it can
/// and says what it is waiting for; it never blocks and knows no event loop, so the reactor
/// (or a test with poll(2)) drives it. Confined to one thread, like the socket it wraps.
///
/// Rules for the driver (C-INTEROP §4.1): after `.wantRead` wait for readability, after
/// `.wantWrite` for writability; with edge-triggered epoll read until `.wantRead`, because
/// OpenSSL may hold decrypted bytes the kernel no longer reports.
public final class TLSConnection {
    public let context: TLSContext
    public let fd: FileDescriptor
    /// Identities a client accepts from the server (destination workload + service SANs).
    public let expectedPeerIdentities: Set<SpiffeID>
    /// Our policy's reason for refusing the peer, if it did.
    public private(set) var rejection: PeerRejection?
    /// The last alert we sent and received, for diagnostics and tests.
    public private(set) var alertSent: TLSAlert?
    public private(set) var alertReceived: TLSAlert?
    /// The peer's verified leaf and SPIFFE identity, once the handshake has checked them.
    public private(set) var peerCertificate: Certificate?
    public private(set) var peerIdentity: SpiffeID?
    public private(set) var isHandshakeComplete = false
    private var failureCounted = false
    private let ssl: OpaquePointer
    private let bioState: UnsafeMutablePointer<SocketBIO.State>

    /// Wraps the connected socket `fd` (`SSL_new`, `SSL_set_bio` with a `send(MSG_NOSIGNAL)` BIO). A client must give the
    /// identities it accepts for this server; a server ignores `expectedPeerIdentities`.
    /// The caller keeps ownership of `fd` and closes it after this object is gone.
    public init(context: TLSContext, fd: FileDescriptor, expectedPeerIdentities: Set<SpiffeID> = []) throws(TLSError) {
        if context.role == .client && expectedPeerIdentities.isEmpty {
            throw .configuration("a client connection needs at least one expected server identity")
        }
        guard let ssl = SSL_new(context.ctx) else { throw .configuration("SSL_new: \(takeOpenSSLErrors())") }
        self.ssl = ssl
        self.context = context
        self.fd = fd
        self.expectedPeerIdentities = expectedPeerIdentities
        guard let (bio, bioState) = SocketBIO.make(fd: fd.rawValue) else {
            SSL_free(ssl)
            throw .configuration("creating the socket BIO: \(takeOpenSSLErrors())")
        }
        self.bioState = bioState
        SSL_set_bio(ssl, bio, bio)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        if context.role == .server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit {
        SSL_free(ssl)
        bioState.deallocate()
    }

    /// Advances the handshake (`SSL_do_handshake`). `.done(0)` once complete and the peer
    /// passed every identity check; throws on any failure, which is counted by kind.
    public func handshake() throws(TLSError) -> TLSProgress {
        if isHandshakeComplete { return .done(0) }
        let r = SSL_do_handshake(ssl)
        if r == 1 {
            if context.role == .client && negotiatedProtocol != TLSSettings.alpn {
                recordRejection(.alpnNotNegotiated(offered: "server selected \(negotiatedProtocol ?? "no protocol")"))
                throw fail(.peerRejected(rejection!))
            }
            guard peerIdentity != nil else {
                throw fail(.peerRejected(rejection ?? .noPeerCertificate))
            }
            isHandshakeComplete = true
            context.counters.recordCompleted()
            return .done(0)
        }
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case let code: throw fail(error(for: code, duringHandshake: true))
        }
    }

    /// Decrypts into `buffer` (`SSL_read_ex`): plaintext lands straight in the caller's memory.
    /// With `skipsReadsWhenDrained`, a drained socket and nothing buffered in OpenSSL answer
    /// `.wantRead` without entering `SSL_read_ex` at all.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> TLSProgress {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        if bioState.pointee.drained && isHandshakeComplete && SSL_has_pending(ssl) == 0 { return .wantRead }
        var n = 0
        if SSL_read_ex(ssl, base, buffer.count, &n) == 1 { return .done(n) }
        return try progress(after: 0)
    }

    /// Encrypts from `buffer` (`SSL_write_ex`, partial writes enabled): `.done(n)` says how many
    /// bytes were taken; retry the rest after `.wantWrite`. The buffer may move between calls.
    public func write(from buffer: UnsafeRawBufferPointer) throws(TLSError) -> TLSProgress {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        var n = 0
        if SSL_write_ex(ssl, base, buffer.count, &n) == 1 { return .done(n) }
        return try progress(after: 0)
    }

    /// Sends close_notify (`SSL_shutdown`). `.closed` once sent; `.wantWrite` to retry.
    public func shutdown() throws(TLSError) -> TLSProgress {
        let r = SSL_shutdown(ssl)
        if r >= 0 { return .closed }
        return try progress(after: r)
    }

    /// For a driver on edge-triggered epoll: once a socket read returns less than it asked
    /// for, the kernel had nothing more, so further reads answer `.wantRead` without the
    /// `read(2)` that would only say EAGAIN, until `socketBecameReadable()`. The driver must
    /// call that on every readiness event that reports input, hang-up or error. Off by default
    /// (a driver that polls and then reads would otherwise wait for nothing).
    public var skipsReadsWhenDrained: Bool {
        get { bioState.pointee.skipsReadsWhenDrained }
        set {
            bioState.pointee.skipsReadsWhenDrained = newValue
            if !newValue { bioState.pointee.drained = false }
        }
    }

    /// The socket reported input (or hang-up, or an error): the next read asks the kernel again.
    public func socketBecameReadable() { bioState.pointee.drained = false }

    /// Bytes OpenSSL has decrypted but not yet handed out (`SSL_pending`). With read-ahead whole
    /// records may also wait, still encrypted, in OpenSSL's read buffer: read until `.wantRead`.
    public var bufferedPlaintext: Int { Int(SSL_pending(ssl)) }

    /// The ALPN protocol selected (`SSL_get0_alpn_selected`), nil when none.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>? = nil
        var len: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &len)
        guard let data, len > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(len)), as: UTF8.self)
    }

    /// The cipher suite in use, e.g. "TLS_AES_256_GCM_SHA384" (`SSL_get_current_cipher`).
    public var cipherSuite: String? {
        guard let c = SSL_get_current_cipher(ssl), let n = SSL_CIPHER_get_name(c) else { return nil }
        return String(cString: n)
    }

    /// The protocol version, e.g. "TLSv1.3" (`SSL_get_version`).
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Whether the session was resumed (`SSL_session_reused`); Zest never resumes.
    public var sessionWasResumed: Bool { SSL_session_reused(ssl) == 1 }

    func recordRejection(_ r: PeerRejection) { if rejection == nil { rejection = r } }
    func recordVerifiedPeer(_ leaf: Certificate) {
        peerCertificate = leaf
        peerIdentity = SpiffeID(leaf.uriSANs[0])
    }
    func recordAlert(sent a: TLSAlert) { alertSent = a }
    func recordAlert(received a: TLSAlert) { alertReceived = a }

    private func progress(after r: Int32) throws(TLSError) -> TLSProgress {
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL where errno == 0 || errno == EPIPE || errno == ECONNRESET:
            clearOpenSSLErrors()
            return .closed
        case let code:
            let e = error(for: code, duringHandshake: !isHandshakeComplete)
            // TLS 1.3 clients finish before the server checks their certificate, so a server's
            // refusal surfaces here, on the first read; count it as a handshake failure.
            if !failureCounted, case .alertReceived = e { _ = fail(e) }
            if case .protocolFailure(let s) = e, s.contains("unexpected eof") { return .closed }
            throw e
        }
    }

    private func error(for code: Int32, duringHandshake: Bool) -> TLSError {
        let savedErrno = errno
        let detail = takeOpenSSLErrors()
        if context.role == .server && detail.contains("peer did not return a certificate") {
            recordRejection(.noPeerCertificate)
        }
        if let rejection { return .peerRejected(rejection) }
        if let alertReceived { return .alertReceived(alertReceived, detail: detail) }
        if code == SSL_ERROR_SYSCALL {
            if savedErrno == 0 || savedErrno == EPIPE || savedErrno == ECONNRESET {
                return duringHandshake ? .closedDuringHandshake : .transport(errno: savedErrno)
            }
            return .transport(errno: savedErrno)
        }
        if code == SSL_ERROR_ZERO_RETURN { return .closedDuringHandshake }
        return .protocolFailure(detail)
    }

    private func fail(_ e: TLSError) -> TLSError {
        if !failureCounted {
            failureCounted = true
            context.counters.recordFailure(e.failureKind)
        }
        return e
    }
}
