import Glibc

/// An IPv4 or IPv6 address as a value. Parsing and formatting go through
/// `inet_pton`/`inet_ntop`, so the text forms are exactly the kernel's.
public enum IPAddress: Hashable, Sendable, Comparable {
    /// IPv4 address, host byte order (`10.0.0.1` is `0x0A00_0001`).
    case v4(UInt32)
    /// IPv6 address as two host-order halves: `high` holds bytes 0–7.
    case v6(high: UInt64, low: UInt64)

    /// Parses dotted IPv4 or textual IPv6 (no brackets, no zone). Returns nil on anything else.
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        guard !s.isEmpty, s.utf8.count < 64 else { return nil }
        if s.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, s, &raw) == 1 else { return nil }
            self.init(in6: raw)
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, s, &raw) == 1 else { return nil }
            self = .v4(UInt32(bigEndian: raw.s_addr))
        }
    }

    public init(in6 raw: in6_addr) {
        var bytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: raw) { src in bytes.withUnsafeMutableBytes { $0.copyMemory(from: src) } }
        self.init(bytes16: bytes)
    }

    /// Builds an IPv6 address from 16 network-order bytes.
    public init(bytes16 b: [UInt8]) {
        precondition(b.count == 16, "IPv6 address needs 16 bytes")
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(b[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(b[i]) }
        self = .v6(high: hi, low: lo)
    }

    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }
    public var isIPv6: Bool { !isIPv4 }

    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a):
            return [UInt8(a >> 24), UInt8(a >> 16 & 0xff), UInt8(a >> 8 & 0xff), UInt8(a & 0xff)]
        case .v6(let hi, let lo):
            return (0..<8).map { UInt8(hi >> (56 - 8 * UInt64($0)) & 0xff) }
                + (0..<8).map { UInt8(lo >> (56 - 8 * UInt64($0)) & 0xff) }
        }
    }

    public var isLoopback: Bool {
        switch self {
        case .v4(let a): return a >> 24 == 127
        case .v6(let hi, let lo): return hi == 0 && lo == 1
        }
    }

    public var isUnspecified: Bool {
        switch self {
        case .v4(let a): return a == 0
        case .v6(let hi, let lo): return hi == 0 && lo == 0
        }
    }

    /// `::ffff:a.b.c.d` as its IPv4 address, otherwise nil.
    public var unmappedIPv4: IPAddress? {
        if case .v6(let hi, let lo) = self, hi == 0, lo >> 32 == 0xffff {
            return .v4(UInt32(truncatingIfNeeded: lo))
        }
        return nil
    }

    public static let anyV4 = IPAddress.v4(0)
    public static let anyV6 = IPAddress.v6(high: 0, low: 0)
    public static let loopbackV4 = IPAddress.v4(0x7F00_0001)
    public static let loopbackV6 = IPAddress.v6(high: 0, low: 1)

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)): return (ah, al) < (bh, bl)
        }
    }
}

extension IPAddress: CustomStringConvertible {
    public var description: String {
        var out = [CChar](repeating: 0, count: 64)
        switch self {
        case .v4(let a):
            var raw = in_addr(s_addr: a.bigEndian)
            _ = inet_ntop(AF_INET, &raw, &out, socklen_t(out.count))
        case .v6:
            var raw = in6_addr()
            let b = bytes
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: b) }
            _ = inet_ntop(AF_INET6, &raw, &out, socklen_t(out.count))
        }
        return out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
