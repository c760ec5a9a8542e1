internal import CMnl
import Glibc

/// rtnetlink messages for the policy route that returns replies of source-preserved
/// connections to Zest, for IPv4 and IPv6:
/// `ip rule add fwmark 0x111/0xfff lookup 100 pref 32764` and
/// `ip route add local default dev lo table 100` (libmnl `mnl_nlmsg_put_header`, `mnl_attr_put_u32`).
///
/// rtnetlink has no transactions, so each message is acknowledged on its own: "already there"
/// (EEXIST) on install and "already gone" (ENOENT, ESRCH) on removal count as success. A pod
/// namespace without IPv6 (EAFNOSUPPORT) simply gets the IPv4 half.
enum PolicyRouteProgram {
    static func appendInstall(to batch: NetlinkBatch, socket: NetlinkSocket, loopbackIndex: UInt32) throws(RedirectError) {
        for family in [AF_INET, AF_INET6] {
            try appendRule(RTM_NEWRULE, family: family, to: batch, socket: socket,
                           tolerating: [EEXIST, EAFNOSUPPORT])
            try appendRoute(RTM_NEWROUTE, family: family, loopbackIndex: loopbackIndex, to: batch, socket: socket,
                            tolerating: [EEXIST, EAFNOSUPPORT])
        }
    }

    static func appendRemove(to batch: NetlinkBatch, socket: NetlinkSocket, loopbackIndex: UInt32) throws(RedirectError) {
        for family in [AF_INET, AF_INET6] {
            try appendRule(RTM_DELRULE, family: family, to: batch, socket: socket,
                           tolerating: [ENOENT, EAFNOSUPPORT])
            try appendRoute(RTM_DELROUTE, family: family, loopbackIndex: loopbackIndex, to: batch, socket: socket,
                            tolerating: [ENOENT, ESRCH, EAFNOSUPPORT])
        }
    }

    private static func familyName(_ family: Int32) -> String { family == AF_INET ? "IPv4" : "IPv6" }

    private static func appendRule(_ type: Int, family: Int32, to batch: NetlinkBatch, socket: NetlinkSocket,
                                   tolerating: Set<Int32>) throws(RedirectError) {
        let seq = socket.nextSeq()
        let verb = type == Int(RTM_NEWRULE) ? "add" : "delete"
        let description = "\(verb) \(familyName(family)) rule fwmark \(PacketMark.spoofedReply)/0x\(String(PacketMark.mask, radix: 16)) lookup \(PolicyRouteConstants.table)"
        try batch.append(seq: seq, description: description, tolerating: tolerating) { buffer in
            let nlh = mnl_nlmsg_put_header(buffer)!
            nlh.pointee.nlmsg_type = UInt16(type)
            nlh.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK | (type == Int(RTM_NEWRULE) ? NLM_F_CREATE | NLM_F_EXCL : 0))
            nlh.pointee.nlmsg_seq = seq
            let hdr = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<fib_rule_hdr>.size)!
                .assumingMemoryBound(to: fib_rule_hdr.self)
            hdr.pointee.family = UInt8(family)
            hdr.pointee.table = UInt8(PolicyRouteConstants.table)
            hdr.pointee.action = UInt8(FR_ACT_TO_TBL)
            mnl_attr_put_u32(nlh, UInt16(FRA_PRIORITY), PolicyRouteConstants.rulePriority)
            mnl_attr_put_u32(nlh, UInt16(FRA_FWMARK), PacketMark.spoofedReply.value)
            mnl_attr_put_u32(nlh, UInt16(FRA_FWMASK), PacketMark.mask)
            mnl_attr_put_u32(nlh, UInt16(FRA_TABLE), PolicyRouteConstants.table)
        }
    }

    private static func appendRoute(_ type: Int, family: Int32, loopbackIndex: UInt32, to batch: NetlinkBatch,
                                    socket: NetlinkSocket, tolerating: Set<Int32>) throws(RedirectError) {
        let seq = socket.nextSeq()
        let verb = type == Int(RTM_NEWROUTE) ? "add" : "delete"
        let description = "\(verb) \(familyName(family)) route local default dev lo table \(PolicyRouteConstants.table)"
        try batch.append(seq: seq, description: description, tolerating: tolerating) { buffer in
            let nlh = mnl_nlmsg_put_header(buffer)!
            nlh.pointee.nlmsg_type = UInt16(type)
            nlh.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK | (type == Int(RTM_NEWROUTE) ? NLM_F_CREATE | NLM_F_EXCL : 0))
            nlh.pointee.nlmsg_seq = seq
            let rtm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<rtmsg>.size)!.assumingMemoryBound(to: rtmsg.self)
            rtm.pointee.rtm_family = UInt8(family)
            rtm.pointee.rtm_table = UInt8(PolicyRouteConstants.table)
            rtm.pointee.rtm_protocol = UInt8(RTPROT_BOOT)
            rtm.pointee.rtm_scope = UInt8(RT_SCOPE_HOST.rawValue)
            rtm.pointee.rtm_type = UInt8(RTN_LOCAL)
            mnl_attr_put_u32(nlh, UInt16(RTA_TABLE.rawValue), PolicyRouteConstants.table)
            mnl_attr_put_u32(nlh, UInt16(RTA_OIF.rawValue), loopbackIndex)
        }
    }
}
