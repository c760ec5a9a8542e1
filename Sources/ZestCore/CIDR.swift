/// An address block such as `10.0.0.0/8` or `fd00::/64`. A bare address is a host block.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(address: IPAddress, prefixLength: Int) {
        let bits = address.isIPv4 ? 32 : 128
        guard (0...bits).contains(prefixLength) else { return nil }
        self.address = CIDR.masked(address, prefixLength)
        self.prefixLength = prefixLength
    }

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let ip = IPAddress(parts[0]) else { return nil }
        if parts.count == 1 {
            self.init(address: ip, prefixLength: ip.isIPv4 ? 32 : 128)
        } else {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
                  let len = Int(parts[1]) else { return nil }
            self.init(address: ip, prefixLength: len)
        }
    }

    /// True when `ip` is inside this block. IPv4-mapped IPv6 addresses match IPv4 blocks.
    public func contains(_ ip: IPAddress) -> Bool {
        let candidate = (address.isIPv4 ? ip.unmappedIPv4 : nil) ?? ip
        guard candidate.isIPv4 == address.isIPv4 else { return false }
        return CIDR.masked(candidate, prefixLength) == address
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func masked(_ ip: IPAddress, _ len: Int) -> IPAddress {
        switch ip {
        case .v4(let a):
            let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << UInt32(32 - len)
            return .v4(a & mask)
        case .v6(let hi, let lo):
            let hiMask: UInt64 = len >= 64 ? ~0 : (len == 0 ? 0 : ~UInt64(0) << UInt64(64 - len))
            let loMask: UInt64 = len <= 64 ? 0 : (len == 128 ? ~0 : ~UInt64(0) << UInt64(128 - len))
            return .v6(high: hi & hiMask, low: lo & loMask)
        }
    }
}
