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
        guard let parsed = withUTF8Bytes(of: text, IPAddress.init(utf8:)) else { return nil }
        self = parsed
    }

    /// Parses the UTF-8 text in `text` (`inet_pton`, from a NUL-terminated copy on the stack).
    /// A NUL inside the text is refused rather than read as its end.
    public init?(utf8 text: UnsafeRawBufferPointer) {
        guard !text.isEmpty, text.count < 64, !text.contains(0) else { return nil }
        let isV6 = text.contains(UInt8(ascii: ":"))
        let parsed: IPAddress? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let c = buffer.baseAddress!
            UnsafeMutableRawPointer(c).copyMemory(from: text.baseAddress!, byteCount: text.count)
            c[text.count] = 0
            if isV6 {
                var raw = in6_addr()
                return inet_pton(AF_INET6, c, &raw) == 1 ? IPAddress(in6: raw) : nil
            }
            var raw = in_addr()
            return inet_pton(AF_INET, c, &raw) == 1 ? .v4(UInt32(bigEndian: raw.s_addr)) : nil
        }
        guard let parsed else { return nil }
        self = parsed
    }

    public init(in6 raw: in6_addr) {
        var hi: UInt64 = 0, lo: UInt64 = 0
        withUnsafeBytes(of: raw) { b in
            for i in 0..<8 { hi = hi << 8 | UInt64(b[i]) }
            for i in 8..<16 { lo = lo << 8 | UInt64(b[i]) }
        }
        self = .v6(high: hi, low: lo)
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

/// Runs `body` on the UTF-8 bytes of `text`: in place for native strings and substrings, from a
/// copy otherwise.
func withUTF8Bytes<R>(of text: some StringProtocol, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let r = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return r }
    return Array(text.utf8).withUnsafeBytes(body)
}

extension IPAddress: CustomStringConvertible {
    /// Dotted decimal for IPv4 (written here: glibc's `inet_ntop` goes through `sprintf`),
    /// `inet_ntop`'s RFC 5952 form for IPv6.
    public var description: String {
        switch self {
        case .v4(let a):
            return String(unsafeUninitializedCapacity: 15) { out in
                var n = 0
                for shift in stride(from: 24, through: 0, by: -8) {
                    let octet = Int(a >> UInt32(shift) & 0xff)
                    if shift != 24 { out[n] = UInt8(ascii: "."); n += 1 }
                    if octet >= 100 { out[n] = UInt8(48 + octet / 100); n += 1 }
                    if octet >= 10 { out[n] = UInt8(48 + octet / 10 % 10); n += 1 }
                    out[n] = UInt8(48 + octet % 10)
                    n += 1
                }
                return n
            }
        case .v6(let hi, let lo):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { b in
                for i in 0..<8 {
                    b[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i)))
                    b[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i)))
                }
            }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { out in
                _ = inet_ntop(AF_INET6, &raw, out.baseAddress!, 64)
                return String(cString: out.baseAddress!)
            }
        }
    }
}
