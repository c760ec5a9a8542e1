import Glibc
import ZestCore
import ZestProxy
import ZestReactor
import ZestRedirect

/// A pod network as on a kernel booted with `ipv6.disable=1`, where `socket(AF_INET6)` fails
/// with EAFNOSUPPORT (this machine has IPv6, so the refusal is made here, exactly as
/// `NetnsThread.openListener` reports it); everything IPv4 goes to the real namespace.
struct IPv4OnlyPodNetwork: PodNetwork {
    let base: NetnsPodNetwork

    func openListener(_ address: SocketAddress) throws -> FileDescriptor {
        guard address.ip.isIPv4 else {
            throw RedirectError.socket(call: "socket", address: "\(address)", errno: EAFNOSUPPORT)
        }
        return try base.openListener(address)
    }

    func connect(to destination: SocketAddress, from source: SocketAddress?) throws -> Socket {
        guard destination.ip.isIPv4 else {
            throw RedirectError.socket(call: "socket", address: "\(destination)", errno: EAFNOSUPPORT)
        }
        return try base.connect(to: destination, from: source)
    }
}
