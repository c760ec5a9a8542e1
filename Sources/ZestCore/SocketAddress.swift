/// An IP address and a TCP port, written `10.0.0.1:80` or `[fd00::1]:80`.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses `IPv4:port` or `[IPv6]:port`. A bare IPv6 address without brackets is refused,
    /// because its last group could be read as a port.
    public init?(_ text: some StringProtocol) {
        guard let parsed = withUTF8Bytes(of: text, SocketAddress.init(utf8:)) else { return nil }
        self = parsed
    }

    /// Parses the UTF-8 bytes of `IPv4:port` or `[IPv6]:port` (an HBONE `:authority`, once per
    /// tunnel: bytes, not Characters).
    public init?(utf8 text: UnsafeRawBufferPointer) {
        let colon = UInt8(ascii: ":")
        let host: UnsafeRawBufferPointer.SubSequence
        let port: UnsafeRawBufferPointer.SubSequence
        if text.first == UInt8(ascii: "[") {
            guard let close = text.firstIndex(of: UInt8(ascii: "]")), close + 1 < text.count, text[close + 1] == colon
            else { return nil }
            host = text[1..<close]
            port = text[(close + 2)...]
            guard host.contains(colon) else { return nil }
        } else {
            guard let c = text.lastIndex(of: colon), !text[..<c].contains(colon) else { return nil }
            host = text[..<c]
            port = text[(c + 1)...]
        }
        guard !port.isEmpty, port.count <= 5 else { return nil }
        var value = 0
        for digit in port {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        guard value <= Int(UInt16.max), let ip = IPAddress(utf8: UnsafeRawBufferPointer(rebasing: host)) else { return nil }
        self.init(ip: ip, port: UInt16(value))
    }

    public var description: String {
        ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}
