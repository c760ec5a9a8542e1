internal import CMnl
import Glibc

/// A run of netlink messages sent in one `sendto`, each with its own sequence number and a
/// description used when the kernel rejects it (libmnl's `mnl_nlmsg_batch_*`).
///
/// The buffer is twice the batch limit because `mnl_nlmsg_batch_next` checks for overflow
/// only after a message was written (shared/C-INTEROP.md §4.4).
final class NetlinkBatch {
    struct Entry {
        let description: String
        /// Errnos that mean "already as wanted" for this message (ENOENT when deleting).
        let tolerated: Set<Int32>
    }

    private let limit: Int
    private let buffer: UnsafeMutableRawPointer
    private let handle: OpaquePointer
    private(set) var entries: [UInt32: Entry] = [:]
    private(set) var count = 0

    /// A batch of at most `limit` bytes (the default holds a pod's whole ruleset many times over).
    init(limit: Int = 128 * 1024) {
        self.limit = limit
        buffer = .allocate(byteCount: 2 * limit, alignment: 8)
        handle = mnl_nlmsg_batch_start(buffer, limit)
    }

    deinit {
        mnl_nlmsg_batch_stop(handle)
        buffer.deallocate()
    }

    /// Appends one message written by `build` at the batch's current position. When
    /// `description` is nil the message expects no acknowledgement (batch begin/end).
    func append(seq: UInt32, description: String?, tolerating: Set<Int32> = [],
                _ build: (UnsafeMutableRawPointer) -> Void) throws(RedirectError) {
        build(mnl_nlmsg_batch_current(handle))
        count += 1
        guard mnl_nlmsg_batch_next(handle) else { throw .batchTooLarge(messages: count) }
        if let description { entries[seq] = Entry(description: description, tolerated: tolerating) }
    }

    var head: UnsafeMutableRawPointer { mnl_nlmsg_batch_head(handle) }
    var size: Int { mnl_nlmsg_batch_size(handle) }
}
