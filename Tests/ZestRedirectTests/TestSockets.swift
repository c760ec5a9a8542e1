internal import CZestShims
import Glibc
import Testing
import ZestCore
import ZestRedirect
import ZestTestSupport

/// Plain sockets for the capture tests. They are created inside a namespace by closures run on
/// a `NetnsThread` (never by setns in the test body) and then used from the test thread with
/// bounded `poll` waits.
struct TestSocketError: Error, CustomStringConvertible {
    let description: String
}

enum TestSockets {
    /// A nonblocking, unmarked TCP listener on `address` inside `namespace`.
    static func listener(_ thread: NetnsThread, _ namespace: NetNamespace, _ address: SocketAddress) throws -> Int32 {
        try thread.run(in: namespace) {
            let fd = try unmarkedSocket(address.ip)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard address.withSockaddr({ bind(fd, $0, $1) }) == 0, listen(fd, 64) == 0 else {
                let e = errno
                close(fd)
                throw TestSocketError(description: "bind/listen \(address): errno \(e)")
            }
            return fd
        }
    }

    /// Starts an unmarked nonblocking connect from inside `namespace`; finish with `awaitConnected`.
    static func connect(_ thread: NetnsThread, _ namespace: NetNamespace, to address: SocketAddress,
                        from source: SocketAddress? = nil) throws -> Int32 {
        try thread.run(in: namespace) {
            let fd = try unmarkedSocket(address.ip)
            if let source, source.withSockaddr({ bind(fd, $0, $1) }) != 0 {
                let e = errno
                close(fd)
                throw TestSocketError(description: "bind \(source): errno \(e)")
            }
            let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            guard rc == 0 || errno == EINPROGRESS else {
                let e = errno
                close(fd)
                throw TestSocketError(description: "connect \(address): errno \(e)")
            }
            return fd
        }
    }

    private static func unmarkedSocket(_ ip: IPAddress) throws -> Int32 {
        let fd = socket(ip.isIPv4 ? AF_INET : AF_INET6,
                        Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestSocketError(description: "socket: errno \(errno)") }
        return fd
    }

    /// Waits up to `timeout` for a connect to finish; true when it succeeded.
    static func awaitConnected(_ fd: Int32, timeout: Int32 = 3000) -> Bool {
        guard wait(fd, Int16(POLLOUT), timeout) else { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        return err == 0
    }

    /// Accepts one connection within `timeout` milliseconds, or returns nil.
    static func accept(_ listener: Int32, timeout: Int32 = 3000) -> Int32? {
        guard wait(listener, Int16(POLLIN), timeout) else { return nil }
        let fd = zest_accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        return fd >= 0 ? fd : nil
    }

    static func wait(_ fd: Int32, _ events: Int16, _ timeout: Int32) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        return poll(&p, 1, timeout) == 1
    }

    /// Sends `text` and reads exactly as many bytes back on `peer` within a bounded wait.
    static func roundTrip(_ text: String, from fd: Int32, to peer: Int32) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            return false
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while received.count < bytes.count {
            guard wait(peer, Int16(POLLIN), 3000) else { return false }
            let n = buffer.withUnsafeMutableBytes { recv(peer, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n > 0 else { return false }
            received += buffer[0..<n]
        }
        return received == bytes
    }

    /// `SO_ORIGINAL_DST` (or `IP6T_SO_ORIGINAL_DST`) of an accepted connection.
    static func originalDestination(_ fd: Int32, v6: Bool = false) -> SocketAddress? {
        if v6 {
            var sin6 = sockaddr_in6()
            guard zest_original_dst6(fd, &sin6) == 0 else { return nil }
            return SocketAddress(ip: IPAddress(in6: sin6.sin6_addr), port: UInt16(bigEndian: sin6.sin6_port))
        }
        var sin = sockaddr_in()
        guard zest_original_dst4(fd, &sin) == 0 else { return nil }
        return SocketAddress(ip: .v4(UInt32(bigEndian: sin.sin_addr.s_addr)), port: UInt16(bigEndian: sin.sin_port))
    }

    /// The peer address of a connection (`getpeername`).
    static func peer(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        return SocketAddress(storage: storage)
    }
}

/// A node namespace and a pod namespace joined by a veth pair: node 10.77.0.1, pod 10.77.0.2.
/// Each test gets its own pair, so the addresses never collide between tests.
final class PodTopology {
    let node: TestNamespace
    let pod: TestNamespace
    let nodeHandle: NetNamespace
    let podHandle: NetNamespace
    let thread: NetnsThread
    static let nodeIP = IPAddress("10.77.0.1")!
    static let podIP = IPAddress("10.77.0.2")!
    static let nodeIP6 = IPAddress("fd77::1")!
    static let podIP6 = IPAddress("fd77::2")!

    init(_ label: String) throws {
        node = try TestNamespace(label + "n")
        do {
            pod = try TestNamespace(label + "p")
        } catch {
            node.destroy()
            throw error
        }
        do {
            try connectNamespaces(node, "10.77.0.1/24", pod, "10.77.0.2/24")
            for (ns, address) in [(node, "fd77::1/64"), (pod, "fd77::2/64")] {
                let veth = try runChecked(["ip", "-n", ns.name, "-o", "link", "show", "type", "veth"])
                    .split(separator: ":")[1].split(separator: "@")[0].trimmingCharacters(in: .whitespaces)
                try runChecked(["ip", "-n", ns.name, "addr", "add", address, "dev", veth, "nodad"])
            }
            nodeHandle = try NetNamespace(path: node.path)
            podHandle = try NetNamespace(path: pod.path)
            thread = try NetnsThread()
        } catch {
            pod.destroy()
            node.destroy()
            throw error
        }
    }

    func destroy() {
        pod.destroy()
        node.destroy()
    }
}
