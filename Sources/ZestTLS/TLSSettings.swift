/// A TLS 1.3 cipher suite Zest allows.
public enum TLSCipherSuite: String, Sendable, CaseIterable {
    case aes256GCM = "TLS_AES_256_GCM_SHA384"
    case aes128GCM = "TLS_AES_128_GCM_SHA256"
}

/// Tunables of a TLS context. The defaults are HBONE's: both AES-GCM suites with AES-256
/// preferred, P-256 then X25519, ALPN `h2`.
public struct TLSSettings: Sendable, Equatable {
    /// Allowed suites in preference order (benchmarks can force `[.aes128GCM]`).
    public var cipherSuites: [TLSCipherSuite]
    /// Key-exchange groups in preference order (OpenSSL names).
    public var groups: [String]
    /// Read-ahead buffer (`SSL_CTX_set_read_ahead`, `SSL_CTX_set_default_read_buffer_len`):
    /// OpenSSL reads up to this many bytes per `read(2)` and decrypts the records from it, about
    /// 11 reads per MB instead of 125 (docs/bench/tls-io.md). 0 turns read-ahead off: two reads
    /// per record, header then body. OpenSSL allocates it on the first read of a connection.
    public var readAheadBytes: Int

    public init(cipherSuites: [TLSCipherSuite] = [.aes256GCM, .aes128GCM], groups: [String] = ["P-256", "X25519"],
                readAheadBytes: Int = 256 << 10) {
        self.cipherSuites = cipherSuites
        self.groups = groups
        self.readAheadBytes = readAheadBytes
    }

    /// The one application protocol HBONE speaks.
    public static let alpn = "h2"
}
