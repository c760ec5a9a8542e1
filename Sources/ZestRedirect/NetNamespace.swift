import Glibc
import ZestCore

/// A network namespace held open by a file descriptor this object owns and closes.
///
/// Holding the descriptor keeps the namespace alive, so a pod's namespace can be entered
/// (by a `NetnsThread`) even after its `/var/run/netns` entry is gone. `identity` is the
/// namespace's (device, inode) pair: two handles name the same namespace exactly when
/// their identities are equal, which is how a re-sent enrollment is recognised.
public final class NetNamespace: Sendable, CustomStringConvertible {
    let fd: Int32
    /// Where the handle came from (a path or "fd N"), for messages.
    public let label: String
    public let identity: Identity

    public struct Identity: Hashable, Sendable, CustomStringConvertible {
        public let device: UInt64
        public let inode: UInt64
        public var description: String { "net:[\(inode)]" }
    }

    /// Opens a namespace by path: `/var/run/netns/<name>` or `/proc/<pid>/ns/net`
    /// (`open(O_RDONLY|O_CLOEXEC)`).
    public convenience init(path: String) throws(RedirectError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .namespaceOpen(path: path, errno: errno) }
        try self.init(owning: fd, label: path)
    }

    /// Takes ownership of a descriptor that refers to a network namespace, such as the one
    /// istio-cni passes with `AddWorkload`. The descriptor is closed when this object goes.
    public convenience init(adopting descriptor: FileDescriptor) throws(RedirectError) {
        try self.init(owning: descriptor.rawValue, label: "fd \(descriptor.rawValue)")
    }

    /// Opens a second handle on the namespace `descriptor` refers to (`fcntl(F_DUPFD_CLOEXEC)`);
    /// the caller keeps ownership of `descriptor`.
    public convenience init(duplicating descriptor: FileDescriptor) throws(RedirectError) {
        let fd = fcntl(descriptor.rawValue, F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else { throw .notANetworkNamespace("fd \(descriptor.rawValue)", errno: errno) }
        try self.init(owning: fd, label: "fd \(fd) (dup of \(descriptor.rawValue))")
    }

    /// The namespace of the calling thread (`/proc/thread-self/ns/net`).
    public static func current() throws(RedirectError) -> NetNamespace {
        try NetNamespace(path: "/proc/thread-self/ns/net")
    }

    private init(owning fd: Int32, label: String) throws(RedirectError) {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw .notANetworkNamespace(label, errno: e)
        }
        // nsfs inodes are regular-file-like descriptors; the setns() done later checks the type.
        self.fd = fd
        self.label = label
        self.identity = Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    deinit { close(fd) }

    /// The descriptor, for passing on (for example over a Unix socket). Still owned by this object.
    public var descriptor: FileDescriptor { FileDescriptor(rawValue: fd) }

    public var description: String { "netns \(label) (\(identity))" }

    /// Paths of the named namespaces in `directory` (`ip netns` keeps them in /var/run/netns),
    /// sorted; an absent directory means none.
    public static func namedPaths(in directory: String = "/var/run/netns") -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var paths: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { paths.append(directory + "/" + name) }
        }
        return paths.sorted()
    }
}
