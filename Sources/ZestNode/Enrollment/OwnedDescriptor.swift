import Glibc
import Synchronization
import ZestCore

/// A file descriptor this process owns: closed exactly once, when the last reference goes
/// away or `close()` is called. Descriptors that arrive by SCM_RIGHTS are wrapped at once,
/// so every path that drops one (a NACK, a failed enrollment, a removed pod) closes it.
public final class OwnedDescriptor: Sendable, CustomStringConvertible {
    private let raw: Int32
    private let closed = Mutex(false)

    /// Takes ownership of `raw`; it must not be closed elsewhere.
    public init(adopting raw: Int32) { self.raw = raw }

    deinit { close() }

    public var descriptor: FileDescriptor { FileDescriptor(rawValue: raw) }
    public var description: String { "fd \(raw)" }

    /// Whether `close()` has not been called yet.
    public var isOpen: Bool { closed.withLock { !$0 } }

    /// Closes the descriptor now (close(2)); later calls do nothing.
    public func close() {
        let wasOpen = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if wasOpen { _ = Glibc.close(raw) }
    }
}
