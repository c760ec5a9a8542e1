import Synchronization

/// A section of `/config_dump`. The node registers one per kind of state it owns
/// (`workloads`, `services`, `policies`, `certificates`, `workloadState`, `config`, …);
/// each is called on the admin thread for every dump and must not block.
public protocol ConfigDumpProvider: Sendable {
    /// The top-level key of this section (ztunnel's names where they exist).
    var configDumpKey: String { get }
    func configDump() -> JSONValue
}

/// A provider made from a closure.
public struct ConfigDumpSection: ConfigDumpProvider {
    public let configDumpKey: String
    private let body: @Sendable () -> JSONValue

    public init(_ key: String, _ body: @escaping @Sendable () -> JSONValue) {
        configDumpKey = key
        self.body = body
    }

    public func configDump() -> JSONValue { body() }
}

/// One certificate as `/config_dump` shows it (ztunnel's `certificates[]` shape): `pem` is
/// base64 of the PEM text, times are RFC 3339.
public struct CertificateDump: Sendable {
    public var pem: String
    public var serialNumber: String
    /// Seconds since the epoch.
    public var validFrom: Int64
    public var expirationTime: Int64

    public init(pem: String, serialNumber: String, validFrom: Int64, expirationTime: Int64) {
        self.pem = pem
        self.serialNumber = serialNumber
        self.validFrom = validFrom
        self.expirationTime = expirationTime
    }

    public var json: JSONValue {
        .object([
            ("pem", .string(Base64.encode(Array(pem.utf8)))),
            ("serialNumber", .string(serialNumber)),
            ("validFrom", .string(Timestamp.rfc3339(seconds: validFrom))),
            ("expirationTime", .string(Timestamp.rfc3339(seconds: expirationTime))),
        ])
    }
}

/// The certificates of one identity: `{identity, state, certChain[], rootCerts[]}`.
public struct IdentityCertificatesDump: Sendable {
    public var identity: String
    /// `Available`, `Initializing` or `Unavailable: <why>`, as ztunnel reports.
    public var state: String
    public var chain: [CertificateDump]
    public var roots: [CertificateDump]

    public init(identity: String, state: String, chain: [CertificateDump], roots: [CertificateDump]) {
        self.identity = identity
        self.state = state
        self.chain = chain
        self.roots = roots
    }

    public var json: JSONValue {
        .object([
            ("identity", .string(identity)), ("state", .string(state)),
            ("certChain", .array(chain.map(\.json))), ("rootCerts", .array(roots.map(\.json))),
        ])
    }
}

/// Standard base64 (RFC 4648) with padding.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
