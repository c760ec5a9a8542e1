import Glibc
internal import CZestShims
import ZestCore

/// Which network namespace a descriptor refers to: the (device, inode) pair of its nsfs
/// file, the same for every descriptor of one namespace.
public struct NamespaceIdentity: Hashable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
    public var description: String { "netns \(device):\(inode)" }
}

/// An open descriptor of a pod's network namespace, as received with `AddWorkload` or
/// opened from a path such as /var/run/netns/<name>. The capture and listener layers
/// `setns` into it (on a dedicated thread) for as long as they hold the handle.
public final class NetNamespaceHandle: Sendable, CustomStringConvertible {
    public let file: OwnedDescriptor
    public let identity: NamespaceIdentity

    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        case open(path: String, errno: Int32)
        case stat(errno: Int32)
        case notANamespace
        case notANetworkNamespace(type: Int32)

        public var description: String {
            switch self {
            case .open(let p, let e):
                return "cannot open network namespace \(p): \(String(cString: strerror(e))); does the pod (or `ip netns` entry) still exist?"
            case .stat(let e):
                return "cannot fstat the namespace descriptor: \(String(cString: strerror(e)))"
            case .notANamespace:
                return "the descriptor is not a namespace file; send the pod's /proc/<pid>/ns/net"
            case .notANetworkNamespace(let t):
                return "the descriptor is a namespace of type 0x\(String(t, radix: 16)), not a network namespace; send the pod's /proc/<pid>/ns/net"
            }
        }
    }

    /// Wraps a descriptor, checking with ioctl(NS_GET_NSTYPE) that it is a network
    /// namespace and recording its identity with fstat(2). On error the descriptor is
    /// still owned by `file` and closes with it.
    public init(_ file: OwnedDescriptor) throws(Error) {
        let fd = file.descriptor.rawValue
        let type = zest_namespace_type(fd)
        if type < 0 {
            throw errno == ENOTTY || errno == EINVAL ? .notANamespace : .stat(errno: errno)
        }
        guard type == zest_const_CLONE_NEWNET() else { throw .notANetworkNamespace(type: type) }
        self.identity = try namespaceIdentity(of: fd)
        self.file = file
    }

    /// Opens a namespace by path (open(2) with O_RDONLY | O_CLOEXEC).
    public static func open(path: String) throws(Error) -> NetNamespaceHandle {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .open(path: path, errno: errno) }
        return try NetNamespaceHandle(OwnedDescriptor(adopting: fd))
    }

    /// The identity of the namespace a path names, without keeping it open (stat(2)).
    public static func identity(atPath path: String) throws(Error) -> NamespaceIdentity {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .open(path: path, errno: errno) }
        return NamespaceIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    public var description: String { "\(identity) (\(file))" }
}

private func namespaceIdentity(of fd: Int32) throws(NetNamespaceHandle.Error) -> NamespaceIdentity {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .stat(errno: errno) }
    return NamespaceIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
}
