internal import CMnl
import Glibc
import Testing
@testable import ZestRedirect

/// The acknowledgement machinery on its own, in the test process's namespace (read-only
/// rtnetlink requests, so no privilege is needed).
struct NetlinkSocketTests {
    /// Appends `RTM_GETLINK` for the loopback device; with `acknowledged` false the request
    /// lacks `NLM_F_ACK`, so the kernel answers with the link but never with an ACK.
    private func appendGetLink(_ batch: NetlinkBatch, _ socket: NetlinkSocket, acknowledged: Bool) throws {
        let seq = socket.nextSeq()
        try batch.append(seq: seq, description: "get link lo") { buffer in
            let nlh = mnl_nlmsg_put_header(buffer)!
            nlh.pointee.nlmsg_type = UInt16(RTM_GETLINK)
            nlh.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | (acknowledged ? NLM_F_ACK : 0))
            nlh.pointee.nlmsg_seq = seq
            let ifi = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifinfomsg>.size)!.assumingMemoryBound(to: ifinfomsg.self)
            ifi.pointee.ifi_index = 1
        }
    }

    @Test func aRequestAnsweredWithDataAndAnAckSucceedsAndSeesTheReply() throws {
        let socket = try NetlinkSocket(bus: NETLINK_ROUTE)
        let batch = NetlinkBatch(limit: 4096)
        try appendGetLink(batch, socket, acknowledged: true)
        var replies = 0
        try socket.transact(batch) { _, nlh in
            if nlh.pointee.nlmsg_type == UInt16(RTM_NEWLINK) { replies += 1 }
        }
        #expect(replies == 1)
    }

    @Test func aMissingAckEndsWithATimeoutThatNamesTheMessage() throws {
        let socket = try NetlinkSocket(bus: NETLINK_ROUTE, receiveTimeout: .milliseconds(100))
        let batch = NetlinkBatch(limit: 4096)
        try appendGetLink(batch, socket, acknowledged: false)
        #expect(throws: RedirectError.unacknowledged(["get link lo"], timeout: .milliseconds(100))) {
            try socket.transact(batch)
        }
    }

    @Test func aBatchThatOutgrowsItsBufferIsRefused() throws {
        let socket = try NetlinkSocket(bus: NETLINK_ROUTE)
        let batch = NetlinkBatch(limit: 256)
        #expect(throws: RedirectError.batchTooLarge(messages: 9)) {
            for _ in 0..<20 { try appendGetLink(batch, socket, acknowledged: true) }
        }
    }
}
