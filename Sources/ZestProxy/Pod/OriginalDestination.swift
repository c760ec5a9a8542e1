internal import CZestShims
import Glibc
import ZestCore
import ZestReactor

extension Socket {
    /// Where the client meant to connect before a capture rule redirected it
    /// (`getsockopt(SOL_IP, SO_ORIGINAL_DST)`, then `IP6T_SO_ORIGINAL_DST`), or nil when the
    /// connection was not redirected. A connection made straight to the listener also has an
    /// "original destination" (the listener's own address, C-INTEROP.md §4.6), so callers
    /// compare the result with the listener address.
    func originalDestination() -> SocketAddress? {
        guard let fd = descriptor?.rawValue else { return nil }
        var sin = sockaddr_in()
        if zest_original_dst4(fd, &sin) == 0 {
            return SocketAddress(ip: .v4(UInt32(bigEndian: sin.sin_addr.s_addr)), port: UInt16(bigEndian: sin.sin_port))
        }
        var sin6 = sockaddr_in6()
        if zest_original_dst6(fd, &sin6) == 0 {
            let address = SocketAddress(ip: IPAddress(in6: sin6.sin6_addr), port: UInt16(bigEndian: sin6.sin6_port))
            return address.unmapped
        }
        return nil
    }
}

extension SocketAddress {
    /// The address with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) turned back into IPv4.
    var unmapped: SocketAddress {
        guard let v4 = ip.unmappedIPv4 else { return self }
        return SocketAddress(ip: v4, port: port)
    }
}
