internal import CNftnl
import Glibc
import ZestCore

/// Builds the libnftnl expressions of one `CaptureRuleset.Rule` (`nftnl_expr_alloc`,
/// `nftnl_expr_set*`, `nftnl_rule_add_expr`). Register 1 is the only data register used.
/// Packet bytes (addresses, ports, TCP flags) are compared in network order; marks are
/// host-order integers, as `nft` itself encodes them.
struct NftablesRuleWriter {
    private let rule: OpaquePointer

    init(rule: OpaquePointer) { self.rule = rule }

    func write(_ spec: CaptureRuleset.Rule) {
        var haveFamily = false
        for match in spec.matches {
            switch match {
            case .transportProtocol(let proto):
                meta(NFT_META_L4PROTO)
                compare(equal: true, [proto])
            case .tcpSynOnly:
                payload(base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 13, length: 1)
                // fin 0x01 | syn 0x02 | rst 0x04 | ack 0x10
                bitwise(mask: [0x17], xor: [0])
                compare(equal: true, [0x02])
            case .destinationPort(let port, let equal):
                payload(base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 2, length: 2)
                compare(equal: equal, [UInt8(port >> 8), UInt8(port & 0xff)])
            case .sourceAddress(let ip, let equal), .destinationAddress(let ip, let equal):
                if !haveFamily {
                    meta(NFT_META_NFPROTO)
                    compare(equal: true, [UInt8(ip.isIPv4 ? NFPROTO_IPV4 : NFPROTO_IPV6)])
                    haveFamily = true
                }
                let isSource: Bool
                if case .sourceAddress = match { isSource = true } else { isSource = false }
                let offset: UInt32 = ip.isIPv4 ? (isSource ? 12 : 16) : (isSource ? 8 : 24)
                payload(base: NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: UInt32(ip.bytes.count))
                compare(equal: equal, ip.bytes)
            case .packetMark(let mark, let equal):
                meta(NFT_META_MARK)
                bitwise(mask: hostBytes(PacketMark.mask), xor: hostBytes(0))
                compare(equal: equal, hostBytes(mark.value))
            case .connectionMark(let mark):
                connectionMarkLoad()
                bitwise(mask: hostBytes(PacketMark.mask), xor: hostBytes(0))
                compare(equal: true, hostBytes(mark.value))
            case .outputInterface(let name, let equal):
                meta(NFT_META_OIFNAME)
                var padded = Array(name.utf8.prefix(15))
                padded += [UInt8](repeating: 0, count: 16 - padded.count)
                compare(equal: equal, padded)
            }
        }
        switch spec.action {
        case .accept:
            let e = expression("immediate")
            nftnl_expr_set_u32(e, attr(NFTNL_EXPR_IMM_DREG), NFT_REG_VERDICT.rawValue)
            nftnl_expr_set_u32(e, attr(NFTNL_EXPR_IMM_VERDICT), UInt32(NF_ACCEPT))
        case .redirect(let port):
            let immediate = expression("immediate")
            nftnl_expr_set_u32(immediate, attr(NFTNL_EXPR_IMM_DREG), NFT_REG_1.rawValue)
            setData(immediate, attr(NFTNL_EXPR_IMM_DATA), [UInt8(port >> 8), UInt8(port & 0xff)])
            let redir = expression("redir")
            nftnl_expr_set_u32(redir, attr(NFTNL_EXPR_REDIR_REG_PROTO_MIN), NFT_REG_1.rawValue)
            nftnl_expr_set_u32(redir, attr(NFTNL_EXPR_REDIR_FLAGS), UInt32(NF_NAT_RANGE_PROTO_SPECIFIED))
        case .setConnectionMark(let mark):
            connectionMarkLoad()
            bitwise(mask: hostBytes(~PacketMark.mask), xor: hostBytes(mark.value))
            let set = expression("ct")
            nftnl_expr_set_u32(set, attr(NFTNL_EXPR_CT_KEY), NFT_CT_MARK.rawValue)
            nftnl_expr_set_u32(set, attr(NFTNL_EXPR_CT_SREG), NFT_REG_1.rawValue)
        case .restorePacketMarkFromConnection:
            connectionMarkLoad()
            let set = expression("meta")
            nftnl_expr_set_u32(set, attr(NFTNL_EXPR_META_KEY), NFT_META_MARK.rawValue)
            nftnl_expr_set_u32(set, attr(NFTNL_EXPR_META_SREG), NFT_REG_1.rawValue)
        }
    }

    /// Allocates an expression and hands it to the rule, which frees it.
    private func expression(_ name: String) -> OpaquePointer {
        let e = nftnl_expr_alloc(name)!
        nftnl_rule_add_expr(rule, e)
        return e
    }

    private func meta(_ key: nft_meta_keys) {
        let e = expression("meta")
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_META_KEY), key.rawValue)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_META_DREG), NFT_REG_1.rawValue)
    }

    private func connectionMarkLoad() {
        let e = expression("ct")
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_CT_KEY), NFT_CT_MARK.rawValue)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_CT_DREG), NFT_REG_1.rawValue)
    }

    private func payload(base: nft_payload_bases, offset: UInt32, length: UInt32) {
        let e = expression("payload")
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_PAYLOAD_BASE), base.rawValue)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_PAYLOAD_OFFSET), offset)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_PAYLOAD_LEN), length)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_PAYLOAD_DREG), NFT_REG_1.rawValue)
    }

    private func bitwise(mask: [UInt8], xor: [UInt8]) {
        let e = expression("bitwise")
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_BITWISE_SREG), NFT_REG_1.rawValue)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_BITWISE_DREG), NFT_REG_1.rawValue)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_BITWISE_LEN), UInt32(mask.count))
        setData(e, attr(NFTNL_EXPR_BITWISE_MASK), mask)
        setData(e, attr(NFTNL_EXPR_BITWISE_XOR), xor)
    }

    private func compare(equal: Bool, _ data: [UInt8]) {
        let e = expression("cmp")
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_CMP_SREG), NFT_REG_1.rawValue)
        nftnl_expr_set_u32(e, attr(NFTNL_EXPR_CMP_OP), (equal ? NFT_CMP_EQ : NFT_CMP_NEQ).rawValue)
        setData(e, attr(NFTNL_EXPR_CMP_DATA), data)
    }

    private func setData(_ e: OpaquePointer, _ type: UInt16, _ data: [UInt8]) {
        data.withUnsafeBytes { _ = nftnl_expr_set(e, type, $0.baseAddress, UInt32($0.count)) }
    }
}

/// A 32-bit value as the bytes of a host-order integer (how marks live in registers).
private func hostBytes(_ value: UInt32) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}

/// libnftnl attribute ids arrive as `Int`; its setters take `uint16_t`.
func attr(_ id: Int) -> UInt16 { UInt16(id) }

/// Named libnftnl attribute enums (`enum nftnl_table_attr` …) arrive as structs.
func attr<T: RawRepresentable>(_ id: T) -> UInt16 where T.RawValue: BinaryInteger { UInt16(id.rawValue) }
