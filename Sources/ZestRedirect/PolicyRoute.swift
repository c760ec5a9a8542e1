internal import CMnl
import Glibc

/// rtnetlink messages for the policy route that returns replies of source-preserved
/// connections to Zest, for IPv4 and IPv6:
/// `ip rule add fwmark 0x111/0xfff lookup 100 pref 32764` and
/// `ip route add local default dev lo table 100` (libmnl `mnl_nlmsg_put_header`, `mnl_attr_put_u32`).
///
/// rtnetlink has no transactions: each message is acknowledged on its own, "already there"
/// (EEXIST) on install and "already gone" (ENOENT, ESRCH) on removal count as success, and a
/// pod namespace without IPv6 simply gets the IPv4 half: a kernel without IPv6 answers
/// EAFNOSUPPORT, and a pod with IPv6 switched off on lo (`disable_ipv6=1`, as container
/// runtimes often leave pods) refuses the IPv6 route with EACCES ("IPv6 is disabled on nexthop
/// device"), where no IPv6 packet can need it. `PodCapture` sends
/// the steps one by one so it can take back exactly the ones it added when a later one fails.
enum PolicyRouteProgram {
    /// One rtnetlink object of the policy route.
    enum Step: CaseIterable {
        case rule4, route4, rule6, route6
        var family: Int32 { self == .rule4 || self == .route4 ? AF_INET : AF_INET6 }
    }

    /// Appends the message that adds (`install`) or deletes one step.
    static func append(_ step: Step, install: Bool, to batch: NetlinkBatch, socket: NetlinkSocket,
                       loopbackIndex: UInt32) throws(RedirectError) {
        switch (step, install) {
        case (.rule4, true), (.rule6, true):
            try appendRule(RTM_NEWRULE, family: step.family, to: batch, socket: socket, tolerating: [EEXIST, EAFNOSUPPORT])
        case (.rule4, false), (.rule6, false):
            try appendRule(RTM_DELRULE, family: step.family, to: batch, socket: socket, tolerating: [ENOENT, EAFNOSUPPORT])
        case (.route4, true):
            try appendRoute(RTM_NEWROUTE, family: step.family, loopbackIndex: loopbackIndex, to: batch, socket: socket,
                            tolerating: [EEXIST, EAFNOSUPPORT])
        case (.route6, true):
            try appendRoute(RTM_NEWROUTE, family: step.family, loopbackIndex: loopbackIndex, to: batch, socket: socket,
                            tolerating: [EEXIST, EAFNOSUPPORT, EACCES])
        case (.route4, false), (.route6, false):
            try appendRoute(RTM_DELROUTE, family: step.family, loopbackIndex: loopbackIndex, to: batch, socket: socket,
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
