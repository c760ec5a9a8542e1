import Glibc
import Testing
import ZestCore
import ZestTestSupport

/// The byte-level address parsers and the IPv4 formatter against references: the C library
/// (`inet_pton`, `inet_ntop`) and the Character-level authority parser they replaced, on
/// thousands of random near-miss strings.
@Suite struct AddressTextDifferentialTests {
    /// `inet_pton` on the text as a C string, refusing embedded NULs (which C would read as the end).
    static func referenceIP(_ s: String) -> IPAddress? {
        guard !s.isEmpty, s.utf8.count < 64, !s.utf8.contains(0) else { return nil }
        if s.contains(":") {
            var raw = in6_addr()
            return inet_pton(AF_INET6, s, &raw) == 1 ? IPAddress(in6: raw) : nil
        }
        var raw = in_addr()
        return inet_pton(AF_INET, s, &raw) == 1 ? .v4(UInt32(bigEndian: raw.s_addr)) : nil
    }

    /// The authority grammar as first written, with Swift String operations.
    static func referenceSocketAddress(_ s: String) -> SocketAddress? {
        let hostPart: Substring
        let portPart: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            hostPart = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
            guard hostPart.contains(":") else { return nil }
        } else {
            guard let colon = s.lastIndex(of: ":"), !s[..<colon].contains(":") else { return nil }
            hostPart = s[..<colon]
            portPart = s[s.index(after: colon)...]
        }
        guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = UInt16(portPart), let ip = referenceIP(String(hostPart)) else { return nil }
        return SocketAddress(ip: ip, port: port)
    }

    /// Random strings near valid addresses: pieces of real ones, stray brackets, colons,
    /// digits, hex, NUL and a non-ASCII character.
    static func nearMiss(_ rng: inout SplitMix) -> String {
        let pieces = ["10", "0", "255", "256", ".", ":", "::", "[", "]", "fd00", "ffff", "1", "65535", "65536",
                      "8080", "a", "g", " ", "\u{0}", "é", "00", "1.2.3.4", "::1", "0x1"]
        let count = Int(rng.next() % 9) + 1
        return (0..<count).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }

    /// A real authority (`v4:port` or `[v6]:port`), often with one piece inserted or one
    /// character dropped, or else a `nearMiss` string.
    static func nearMissAuthority(_ rng: inout SplitMix) -> String {
        guard rng.next() % 4 != 0 else { return nearMiss(&rng) }
        let port = String(rng.next() % 70_000)
        let host = rng.next() % 2 == 0 ? IPAddress.v4(UInt32(truncatingIfNeeded: rng.next())).description
            : "[" + IPAddress.v6(high: rng.next() & 0xFFFF_0000_FFFF_0000, low: rng.next() % 3).description + "]"
        var chars = Array(host + ":" + port)
        switch rng.next() % 3 {
        case 0: chars.remove(at: Int(rng.next() % UInt64(chars.count)))
        case 1: chars.insert(contentsOf: nearMiss(&rng).prefix(2), at: Int(rng.next() % UInt64(chars.count + 1)))
        default: break
        }
        return String(chars)
    }

    @Test func ipParsingMatchesInetPton() {
        var rng = SplitMix(seed: 0x1b_0a11)
        var valid = 0
        for _ in 0..<20_000 {
            let s = Self.nearMiss(&rng)
            let expected = Self.referenceIP(s)
            #expect(IPAddress(s) == expected, "\(s.debugDescription)")
            #expect(IPAddress(s[...]) == expected, "as a Substring: \(s.debugDescription)")
            if expected != nil { valid += 1 }
        }
        #expect(valid > 100, "the generator should hit valid addresses too")
    }

    @Test func authorityParsingMatchesTheStringParser() {
        var rng = SplitMix(seed: 0xa_0700)
        var valid = 0
        for _ in 0..<20_000 {
            let s = Self.nearMissAuthority(&rng)
            let expected = Self.referenceSocketAddress(s)
            #expect(SocketAddress(s) == expected, "\(s.debugDescription)")
            if expected != nil { valid += 1 }
        }
        #expect(valid > 2_000, "the generator should hit valid authorities too")
    }

    @Test func ipv4FormattingMatchesInetNtopAndRoundTrips() {
        var rng = SplitMix(seed: 0x4_f0a7)
        var samples: [UInt32] = [0, 1, 9, 10, 99, 100, 255, 0xFFFF_FFFF, 0x7F00_0001, 0x0A00_0001]
        for _ in 0..<5_000 { samples.append(UInt32(truncatingIfNeeded: rng.next())) }
        for a in samples {
            var raw = in_addr(s_addr: a.bigEndian)
            var out = [CChar](repeating: 0, count: 32)
            _ = inet_ntop(AF_INET, &raw, &out, 32)
            let reference = out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            #expect(IPAddress.v4(a).description == reference)
            #expect(IPAddress(reference) == .v4(a))
        }
    }

    @Test func ipv6FormattingRoundTrips() {
        var rng = SplitMix(seed: 0x6_f0a7)
        for _ in 0..<5_000 {
            // Sparse addresses exercise the `::` compression.
            let hi = rng.next() & (rng.next() | 0xFFFF_0000_0000_FFFF)
            let lo = rng.next() & rng.next() & rng.next()
            let a = IPAddress.v6(high: hi, low: lo)
            #expect(IPAddress(a.description) == a, "\(a)")
            #expect(SocketAddress(SocketAddress(ip: a, port: 15008).description) == SocketAddress(ip: a, port: 15008))
        }
    }
}
