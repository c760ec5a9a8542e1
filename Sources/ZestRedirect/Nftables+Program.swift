internal import CMnl
internal import CNftnl
import Glibc

/// Turns a `CaptureRuleset` into nftables netlink messages (libnftnl objects serialised with
/// `nftnl_*_nlmsg_build_payload`) inside one atomic batch (`nftnl_batch_begin`/`_end`).
///
/// Install = create the table, delete it, create it again with its chains and rules — all in
/// one transaction. The first create makes the delete valid when the table is absent; the
/// delete drops any earlier version, so installing twice leaves one copy and a rerun never
/// appends duplicate rules (`NEWRULE` is not idempotent).
enum NftablesProgram {
    static let family = UInt16(NFPROTO_INET)

    /// Appends the install transaction for `ruleset` to `batch`.
    static func appendInstall(_ ruleset: CaptureRuleset, to batch: NetlinkBatch,
                              socket: NetlinkSocket) throws(RedirectError) {
        try begin(batch, socket)
        try appendTable(ruleset.table, type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE,
                        description: "create table inet \(ruleset.table)", to: batch, socket: socket)
        try appendTable(ruleset.table, type: NFT_MSG_DELTABLE, flags: 0,
                        description: "delete previous table inet \(ruleset.table)", to: batch, socket: socket)
        try appendTable(ruleset.table, type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE,
                        description: "create table inet \(ruleset.table)", to: batch, socket: socket)
        for chain in ruleset.chains {
            try appendChain(chain, table: ruleset.table, to: batch, socket: socket)
        }
        for chain in ruleset.chains {
            for (index, rule) in chain.rules.enumerated() {
                try appendRule(rule, chain: chain.name, table: ruleset.table,
                               description: "rule \(index + 1) of chain \(chain.name)", to: batch, socket: socket)
            }
        }
        try end(batch, socket)
    }

    /// Appends a transaction deleting table `name`; a missing table (ENOENT) counts as done.
    static func appendRemove(table name: String, to batch: NetlinkBatch, socket: NetlinkSocket) throws(RedirectError) {
        try begin(batch, socket)
        try appendTable(name, type: NFT_MSG_DELTABLE, flags: 0, description: "delete table inet \(name)",
                        tolerating: [ENOENT], to: batch, socket: socket)
        try end(batch, socket)
    }

    /// Whether table `name` exists (`NFT_MSG_GETTABLE`, answered with the table or ENOENT).
    static func tableExists(_ name: String, socket: NetlinkSocket) throws(RedirectError) -> Bool {
        let batch = NetlinkBatch()
        try appendTable(name, type: NFT_MSG_GETTABLE, flags: 0, description: "look up table inet \(name)",
                        tolerating: [ENOENT], to: batch, socket: socket)
        var found = false
        try socket.transact(batch) { _, _ in found = true }
        return found
    }

    /// Appends a rule for a chain that does not exist, inside an otherwise valid install. The
    /// kernel must reject the whole transaction; used to prove atomicity.
    static func appendBrokenInstall(_ ruleset: CaptureRuleset, to batch: NetlinkBatch,
                                    socket: NetlinkSocket) throws(RedirectError) {
        try begin(batch, socket)
        try appendTable(ruleset.table, type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE,
                        description: "create table inet \(ruleset.table)", to: batch, socket: socket)
        for chain in ruleset.chains {
            try appendChain(chain, table: ruleset.table, to: batch, socket: socket)
        }
        let rule = CaptureRuleset.Rule(matches: [], action: .accept)
        try appendRule(rule, chain: "no-such-chain", table: ruleset.table,
                       description: "rule for missing chain no-such-chain", to: batch, socket: socket)
        try end(batch, socket)
    }

    private static func begin(_ batch: NetlinkBatch, _ socket: NetlinkSocket) throws(RedirectError) {
        let seq = socket.nextSeq()
        try batch.append(seq: seq, description: nil) { nftnl_batch_begin($0.assumingMemoryBound(to: CChar.self), seq) }
    }

    private static func end(_ batch: NetlinkBatch, _ socket: NetlinkSocket) throws(RedirectError) {
        let seq = socket.nextSeq()
        try batch.append(seq: seq, description: nil) { nftnl_batch_end($0.assumingMemoryBound(to: CChar.self), seq) }
    }

    private static func header(_ buffer: UnsafeMutableRawPointer, _ type: nf_tables_msg_types,
                               flags: Int32, seq: UInt32) -> UnsafeMutablePointer<nlmsghdr> {
        nftnl_nlmsg_build_hdr(buffer.assumingMemoryBound(to: CChar.self), UInt16(type.rawValue), family,
                              UInt16(flags | NLM_F_ACK), seq)
    }

    private static func appendTable(_ name: String, type: nf_tables_msg_types, flags: Int32, description: String,
                                    tolerating: Set<Int32> = [], to batch: NetlinkBatch,
                                    socket: NetlinkSocket) throws(RedirectError) {
        let table = nftnl_table_alloc()!
        defer { nftnl_table_free(table) }
        nftnl_table_set_str(table, attr(NFTNL_TABLE_NAME), name)
        nftnl_table_set_u32(table, attr(NFTNL_TABLE_FAMILY), UInt32(family))
        let seq = socket.nextSeq()
        try batch.append(seq: seq, description: description, tolerating: tolerating) {
            nftnl_table_nlmsg_build_payload(header($0, type, flags: flags, seq: seq), table)
        }
    }

    private static func appendChain(_ chain: CaptureRuleset.Chain, table: String, to batch: NetlinkBatch,
                                    socket: NetlinkSocket) throws(RedirectError) {
        let c = nftnl_chain_alloc()!
        defer { nftnl_chain_free(c) }
        nftnl_chain_set_str(c, attr(NFTNL_CHAIN_TABLE), table)
        nftnl_chain_set_str(c, attr(NFTNL_CHAIN_NAME), chain.name)
        nftnl_chain_set_str(c, attr(NFTNL_CHAIN_TYPE), chain.kind.rawValue)
        let hook = chain.hook == .prerouting ? NF_INET_PRE_ROUTING : NF_INET_LOCAL_OUT
        nftnl_chain_set_u32(c, attr(NFTNL_CHAIN_HOOKNUM), hook.rawValue)
        nftnl_chain_set_s32(c, attr(NFTNL_CHAIN_PRIO), chain.priority)
        nftnl_chain_set_u32(c, attr(NFTNL_CHAIN_POLICY), UInt32(NF_ACCEPT))
        let seq = socket.nextSeq()
        try batch.append(seq: seq, description: "create chain \(chain.name) (type \(chain.kind.rawValue))") {
            nftnl_chain_nlmsg_build_payload(header($0, NFT_MSG_NEWCHAIN, flags: NLM_F_CREATE, seq: seq), c)
        }
    }

    private static func appendRule(_ rule: CaptureRuleset.Rule, chain: String, table: String, description: String,
                                   to batch: NetlinkBatch, socket: NetlinkSocket) throws(RedirectError) {
        let r = nftnl_rule_alloc()!
        defer { nftnl_rule_free(r) }
        nftnl_rule_set_u32(r, attr(NFTNL_RULE_FAMILY), UInt32(family))
        nftnl_rule_set_str(r, attr(NFTNL_RULE_TABLE), table)
        nftnl_rule_set_str(r, attr(NFTNL_RULE_CHAIN), chain)
        NftablesRuleWriter(rule: r).write(rule)
        let seq = socket.nextSeq()
        try batch.append(seq: seq, description: description) {
            nftnl_rule_nlmsg_build_payload(header($0, NFT_MSG_NEWRULE, flags: NLM_F_CREATE | NLM_F_APPEND, seq: seq), r)
        }
    }
}
