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
        let s = String(text)
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
              let port = UInt16(portPart), let ip = IPAddress(hostPart) else { return nil }
        self.init(ip: ip, port: port)
    }

    public var description: String {
        ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}
