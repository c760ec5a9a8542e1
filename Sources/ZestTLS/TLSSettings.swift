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
    /// Encrypted bytes a connection gathers before one `send(2)` (0: one send per TLS record).
    public var outputBufferBytes: Int
    /// Read-ahead buffer: OpenSSL reads up to this many bytes per `read(2)` and decrypts the
    /// records from it (0: read-ahead off, two reads per record, header then body).
    public var readAheadBytes: Int

    public init(cipherSuites: [TLSCipherSuite] = [.aes256GCM, .aes128GCM], groups: [String] = ["P-256", "X25519"],
                outputBufferBytes: Int = 8 * TLSSettings.fullRecordBytes, readAheadBytes: Int = 256 << 10) {
        self.cipherSuites = cipherSuites
        self.groups = groups
        self.outputBufferBytes = outputBufferBytes
        self.readAheadBytes = readAheadBytes
    }

    /// A full TLS 1.3 record on the wire: 5-byte header, 16 KiB of plaintext, the inner content
    /// type byte and the 16-byte AEAD tag.
    public static let fullRecordBytes = 5 + 16_384 + 1 + 16

    /// The one application protocol HBONE speaks.
    public static let alpn = "h2"
}
