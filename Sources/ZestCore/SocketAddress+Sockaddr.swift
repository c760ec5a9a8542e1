import Glibc

/// Conversion between `ZestCore.SocketAddress` and the kernel's `sockaddr_in`/`sockaddr_in6`.
extension SocketAddress {
    /// The address family (`AF_INET` or `AF_INET6`) a socket for this address needs.
    public var family: Int32 { ip.isIPv4 ? AF_INET : AF_INET6 }

    /// Calls `body` with this address laid out as a `sockaddr` and its length.
    public func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        var storage = sockaddr_storage()
        let length: socklen_t
        switch ip {
        case .v4(let a):
            length = withUnsafeMutableBytes(of: &storage) { raw in
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
                sin.pointee.sin_addr = in_addr(s_addr: a.bigEndian)
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            }
        case .v6:
            let bytes = ip.bytes
            length = withUnsafeMutableBytes(of: &storage) { raw in
                let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                sin6.pointee.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sin6.pointee.sin6_addr) { dst in
                    bytes.withUnsafeBytes { dst.copyMemory(from: $0) }
                }
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
        }
        return try withUnsafePointer(to: &storage) { p throws(E) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(E) in try body(sa, length) }
        }
    }

    /// Reads an IPv4 or IPv6 socket address from kernel storage; nil for other families.
    public init?(storage: sockaddr_storage) {
        var storage = storage
        let result: SocketAddress? = withUnsafeBytes(of: &storage) { raw in
            switch Int32(raw.load(as: sockaddr.self).sa_family) {
            case AF_INET:
                let sin = raw.load(as: sockaddr_in.self)
                return SocketAddress(ip: .v4(UInt32(bigEndian: sin.sin_addr.s_addr)), port: UInt16(bigEndian: sin.sin_port))
            case AF_INET6:
                let sin6 = raw.load(as: sockaddr_in6.self)
                return SocketAddress(ip: IPAddress(in6: sin6.sin6_addr), port: UInt16(bigEndian: sin6.sin6_port))
            default:
                return nil
            }
        }
        guard let result else { return nil }
        self = result
    }
}
