internal import CZestShims
import Glibc

/// A dedicated POSIX thread that runs closures inside other network namespaces.
///
/// `setns(2)` moves only the calling thread, so it must never run on a Swift-concurrency
/// or Dispatch thread: such a thread would stay in the pod's namespace and later run
/// unrelated work there. This thread exists only for namespace work. For each closure it
/// enters the target namespace, runs the closure, and returns to the namespace it started
/// in, so it never pins a pod namespace after the pod is gone. Sockets created inside the
/// closure stay in the pod namespace and may be used from any thread afterwards.
///
/// Calls are serialised; callers block until their closure has run.
public final class NetnsThread: Sendable {
    private let thread: DedicatedThread
    /// The agent's own namespace, as seen when this object was made; the thread returns to
    /// it after every closure.
    private let home: NetNamespace

    /// Starts the thread (`pthread_create`) in the caller's namespace.
    public init() throws(RedirectError) {
        home = try NetNamespace.current()
        thread = try DedicatedThread()
    }

    /// Runs `body` inside `namespace` on this thread (`setns(fd, CLONE_NEWNET)` there and back)
    /// and returns its result. Throws `RedirectError.enterNamespace` when `setns` refuses, or
    /// what `body` throws.
    public func run<T: Sendable>(in namespace: NetNamespace,
                                 _ body: @escaping @Sendable () throws -> T) throws -> T {
        let home = self.home
        return try thread.perform {
            guard zest_setns(namespace.fd, zest_const_CLONE_NEWNET()) == 0 else {
                return .failure(RedirectError.enterNamespace(namespace.label, errno: errno))
            }
            let result = Result { try body() }
            guard zest_setns(home.fd, zest_const_CLONE_NEWNET()) == 0 else {
                // Every job enters its own target first, so later work is still correct; this
                // result reports that the thread is stuck in (and pinning) the pod namespace.
                return .failure(RedirectError.enterNamespace("the agent's own namespace", errno: errno))
            }
            return result
        }.get()
    }
}
