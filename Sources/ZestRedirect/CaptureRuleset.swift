import ZestCore

/// What the capture rules of one pod do, as values: the table, its chains and their rules.
/// `CaptureRuleset(options)` is a pure function of the options; `NftablesProgram` turns it
/// into libnftnl messages. Semantics follow istio-cni's in-pod rules (ARCHITECTURE.md §6).
struct CaptureRuleset: Equatable {
    let table: String
    let chains: [Chain]

    struct Chain: Equatable {
        enum Kind: String { case nat, filter, route }
        enum Hook { case prerouting, output }
        let name: String
        let kind: Kind
        let hook: Hook
        let priority: Int32
        let rules: [Rule]
    }

    struct Rule: Equatable {
        let matches: [Match]
        let action: Action
    }

    enum Match: Equatable {
        /// `meta l4proto`: 6 TCP, 17 UDP.
        case transportProtocol(UInt8)
        /// `tcp flags & (fin|syn|rst|ack) == syn`: only connection-opening packets.
        case tcpSynOnly
        case destinationPort(UInt16, equal: Bool)
        case sourceAddress(IPAddress, equal: Bool)
        case destinationAddress(IPAddress, equal: Bool)
        /// `meta mark & 0xfff (==|!=) mark`.
        case packetMark(PacketMark, equal: Bool)
        /// `ct mark & 0xfff == mark`.
        case connectionMark(PacketMark)
        case outputInterface(String, equal: Bool)
    }

    enum Action: Equatable {
        case accept
        case redirect(toPort: UInt16)
        /// `ct mark set ct mark & ~0xfff | mark`.
        case setConnectionMark(PacketMark)
        /// `meta mark set ct mark`.
        case restorePacketMarkFromConnection
    }

    static let tcp: UInt8 = 6
    static let udp: UInt8 = 17

    init(_ options: CaptureOptions) {
        table = options.tableName
        let ports = options.ports
        let loopbacks: [IPAddress] = [.loopbackV4, .loopbackV6]
        let notZest = Match.packetMark(.zestSocket, equal: false)

        var natPrerouting: [Rule] = options.probeSources.map {
            Rule(matches: [.sourceAddress($0, equal: true), .transportProtocol(Self.tcp)], action: .accept)
        }
        natPrerouting += loopbacks.map {
            Rule(matches: [.destinationAddress($0, equal: false), .transportProtocol(Self.tcp), .tcpSynOnly,
                           .destinationPort(ports.inboundHBONE, equal: false), notZest],
                 action: .redirect(toPort: ports.inboundPlaintext))
        }

        var natOutput: [Rule] = options.probeSources.map {
            Rule(matches: [.destinationAddress($0, equal: true), .transportProtocol(Self.tcp)], action: .accept)
        }
        if options.captureDNS {
            natOutput.append(Rule(matches: [.transportProtocol(Self.udp), .destinationPort(53, equal: true),
                                            .outputInterface("lo", equal: false), notZest],
                                  action: .redirect(toPort: ports.dns)))
            natOutput += loopbacks.map {
                Rule(matches: [.destinationAddress($0, equal: false), .transportProtocol(Self.tcp), .tcpSynOnly,
                               .destinationPort(53, equal: true), notZest],
                     action: .redirect(toPort: ports.dns))
            }
        }
        natOutput.append(Rule(matches: [.transportProtocol(Self.tcp), .packetMark(.spoofedReply, equal: true)],
                              action: .accept))
        natOutput += loopbacks.map {
            Rule(matches: [.destinationAddress($0, equal: false), .outputInterface("lo", equal: true)], action: .accept)
        }
        natOutput += loopbacks.map {
            Rule(matches: [.destinationAddress($0, equal: false), .transportProtocol(Self.tcp), .tcpSynOnly, notZest],
                 action: .redirect(toPort: ports.outbound))
        }

        chains = [
            Chain(name: "mangle-prerouting", kind: .filter, hook: .prerouting, priority: -150, rules: [
                Rule(matches: [.packetMark(.zestSocket, equal: true)], action: .setConnectionMark(.spoofedReply)),
            ]),
            Chain(name: "mangle-output", kind: .route, hook: .output, priority: -150, rules: [
                Rule(matches: [.connectionMark(.spoofedReply)], action: .restorePacketMarkFromConnection),
            ]),
            Chain(name: "nat-prerouting", kind: .nat, hook: .prerouting, priority: -100, rules: natPrerouting),
            Chain(name: "nat-output", kind: .nat, hook: .output, priority: -100, rules: natOutput),
        ]
    }
}
