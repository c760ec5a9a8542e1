internal import CMnl
import Glibc

/// A netlink socket (libmnl's `mnl_socket`) that sends a batch and checks one acknowledgement
/// per message. Create it inside the namespace it should act on (on a `NetnsThread`).
///
/// Every message carries `NLM_F_ACK`, so the kernel answers each with exactly one
/// `NLMSG_ERROR` (0 = accepted). Success means every sequence number was answered with 0 or a
/// tolerated errno. Replies are parsed directly rather than with `mnl_cb_run`, which stops at
/// the first acknowledgement and would leave later errors unread.
final class NetlinkSocket {
    private let socket: OpaquePointer
    private let portID: UInt32
    private var seq: UInt32
    let receiveTimeout: Duration

    /// Opens and binds a socket on `bus` (`NETLINK_NETFILTER` or `NETLINK_ROUTE`) with
    /// `NETLINK_EXT_ACK`, `NETLINK_CAP_ACK` and `SO_RCVTIMEO` set.
    init(bus: Int32, receiveTimeout: Duration = .seconds(2)) throws(RedirectError) {
        guard let s = mnl_socket_open(bus) else { throw .netlinkSocket(call: "socket", errno: errno) }
        socket = s
        self.receiveTimeout = receiveTimeout
        guard mnl_socket_bind(s, 0, pid_t(MNL_SOCKET_AUTOPID)) >= 0 else {
            let e = errno
            mnl_socket_close(s)
            throw .netlinkSocket(call: "bind", errno: e)
        }
        portID = mnl_socket_get_portid(s)
        seq = UInt32(truncatingIfNeeded: time(nil))
        var on: Int32 = 1
        _ = mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        let (secs, atto) = receiveTimeout.components
        var tv = timeval(tv_sec: Int(secs), tv_usec: Int(atto / 1_000_000_000_000))
        guard setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv,
                         socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            let e = errno
            mnl_socket_close(s)
            throw .netlinkSocket(call: "setsockopt(SO_RCVTIMEO)", errno: e)
        }
    }

    deinit { DeferredClose.close(socket) }

    /// A fresh sequence number for the next message.
    func nextSeq() -> UInt32 {
        seq &+= 1
        return seq
    }

    /// Sends `batch` and waits for every acknowledgement. `onReply` sees any non-error message
    /// answering one of the batch's sequence numbers (for example the table a GET returned).
    /// Returns the tolerated errnos that were seen, by sequence number.
    @discardableResult
    func transact(_ batch: NetlinkBatch,
                  onReply: (UInt32, UnsafePointer<nlmsghdr>) -> Void = { _, _ in }) throws(RedirectError) -> [UInt32: Int32] {
        guard mnl_socket_sendto(socket, batch.head, batch.size) >= 0 else {
            throw .netlinkSocket(call: "sendto", errno: errno)
        }
        var pending = batch.entries
        var failures: [NetlinkFailure] = []
        var tolerated: [UInt32: Int32] = [:]
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        while !pending.isEmpty {
            let n = mnl_socket_recvfrom(socket, buffer, bufferSize)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    guard failures.isEmpty else { throw .rejected(failures) }
                    throw .unacknowledged(pending.values.map(\.description).sorted(), timeout: receiveTimeout)
                }
                throw .netlinkSocket(call: "recvfrom", errno: errno)
            }
            var remaining = Int32(n)
            var message: UnsafePointer<nlmsghdr>? = UnsafePointer(buffer.assumingMemoryBound(to: nlmsghdr.self))
            while let nlh = message, mnl_nlmsg_ok(nlh, remaining) {
                let header = nlh.pointee
                if header.nlmsg_pid == portID || header.nlmsg_pid == 0, let entry = pending[header.nlmsg_seq] {
                    if header.nlmsg_type == UInt16(NLMSG_ERROR) {
                        let code = errorCode(nlh)
                        pending[header.nlmsg_seq] = nil
                        if code != 0 {
                            if entry.tolerated.contains(code) {
                                tolerated[header.nlmsg_seq] = code
                            } else {
                                failures.append(NetlinkFailure(message: entry.description, errno: code,
                                                               kernelText: extendedAckText(nlh)))
                            }
                        }
                    } else {
                        onReply(header.nlmsg_seq, nlh)
                    }
                }
                message = UnsafePointer(mnl_nlmsg_next(nlh, &remaining))
            }
        }
        guard failures.isEmpty else { throw .rejected(failures) }
        return tolerated
    }
}

/// The positive errno of an `NLMSG_ERROR` message (0 for an acknowledgement).
private func errorCode(_ nlh: UnsafePointer<nlmsghdr>) -> Int32 {
    let payload = UnsafeRawPointer(nlh) + MemoryLayout<nlmsghdr>.size
    return -payload.loadUnaligned(as: nlmsgerr.self).error
}

/// The `NLMSGERR_ATTR_MSG` text of an extended acknowledgement, if the kernel sent one.
/// With `NETLINK_CAP_ACK` the original message is reduced to its header, so the TLVs start
/// right after `struct nlmsgerr`.
private func extendedAckText(_ nlh: UnsafePointer<nlmsghdr>) -> String? {
    let header = nlh.pointee
    guard header.nlmsg_flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return nil }
    let base = UnsafeRawPointer(nlh)
    var offset = MemoryLayout<nlmsghdr>.size + MemoryLayout<nlmsgerr>.size
    if header.nlmsg_flags & UInt16(NLM_F_CAPPED) == 0 {
        // Uncapped: the whole original message follows; skip it.
        let original = (base + MemoryLayout<nlmsghdr>.size + MemoryLayout<Int32>.size).loadUnaligned(as: nlmsghdr.self)
        offset = MemoryLayout<nlmsghdr>.size + MemoryLayout<Int32>.size + Int(original.nlmsg_len)
    }
    let end = Int(header.nlmsg_len)
    while offset + 4 <= end {
        let length = Int((base + offset).loadUnaligned(as: UInt16.self))
        let type = (base + offset + 2).loadUnaligned(as: UInt16.self) & 0x3fff
        guard length >= 4, offset + length <= end else { return nil }
        if type == UInt16(NLMSGERR_ATTR_MSG.rawValue) {
            let bytes = UnsafeRawBufferPointer(start: base + offset + 4, count: length - 4)
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        offset += (length + 3) & ~3
    }
    return nil
}
