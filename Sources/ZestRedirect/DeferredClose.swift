internal import CMnl

/// Closes netfilter netlink sockets on a background thread.
///
/// Closing a `NETLINK_NETFILTER` socket makes nf_tables flush its deferred transaction
/// clean-up, which waits for an RCU grace period: 8–17 ms per close, measured with strace,
/// against well under a millisecond for the whole batch exchange. Doing that off the caller's
/// path is what keeps a pod install in the low milliseconds.
enum DeferredClose {
    private static let thread: DedicatedThread? = try? DedicatedThread()

    /// Queues `mnl_socket_close` of `socket`; closes inline if the thread could not start.
    static func close(_ socket: OpaquePointer) {
        let address = UInt(bitPattern: socket)
        guard let thread else {
            mnl_socket_close(socket)
            return
        }
        thread.submit { mnl_socket_close(OpaquePointer(bitPattern: address)) }
    }

    /// Waits until every close queued so far has finished (for leak checks).
    static func drain() {
        _ = thread?.perform { Result<Int, any Error>.success(0) }
    }
}
