import Testing
import ZestCore
@testable import ZestRedirect

/// The rule table as values, without touching the kernel.
struct CaptureRulesetTests {
    private func redirects(_ ruleset: CaptureRuleset) -> [String: [UInt16]] {
        var result: [String: [UInt16]] = [:]
        for chain in ruleset.chains {
            for rule in chain.rules {
                if case .redirect(let port) = rule.action { result[chain.name, default: []].append(port) }
            }
        }
        return result
    }

    @Test func everyRedirectOpensConnectionsOnlyAndSkipsZestsOwnSockets() {
        var options = CaptureOptions()
        options.captureDNS = true
        for chain in CaptureRuleset(options).chains {
            for rule in chain.rules {
                guard case .redirect = rule.action else { continue }
                #expect(rule.matches.contains(.packetMark(.zestSocket, equal: false)), "\(chain.name): \(rule)")
                if rule.matches.contains(.transportProtocol(CaptureRuleset.tcp)) {
                    #expect(rule.matches.contains(.tcpSynOnly), "\(chain.name): \(rule)")
                }
            }
        }
    }

    @Test func portsAndDNSFollowTheOptions() {
        var options = CaptureOptions()
        options.ports.outbound = 25001
        options.ports.inboundPlaintext = 25006
        options.ports.inboundHBONE = 25008
        #expect(redirects(CaptureRuleset(options)) == ["nat-prerouting": [25006, 25006], "nat-output": [25001, 25001]])
        let inbound = CaptureRuleset(options).chains.first { $0.name == "nat-prerouting" }!
        #expect(inbound.rules.filter { $0.matches.contains(.destinationPort(25008, equal: false)) }.count == 2)

        options.captureDNS = true
        options.ports.dns = 25053
        #expect(redirects(CaptureRuleset(options))["nat-output"] == [25053, 25053, 25053, 25001, 25001])
    }

    @Test func probeSourcesAreAcceptedBeforeAnyRedirect() {
        let ruleset = CaptureRuleset(CaptureOptions())
        let inbound = ruleset.chains.first { $0.name == "nat-prerouting" }!
        let probes = CaptureOptions().probeSources
        #expect(inbound.rules.prefix(probes.count).map(\.action) == Array(repeating: .accept, count: probes.count))
        #expect(inbound.rules.prefix(probes.count).map { $0.matches.first } == probes.map { .sourceAddress($0, equal: true) })
    }

    @Test func theMarkRestoringChainIsARouteChainSoRepliesAreRerouted() {
        let restore = CaptureRuleset(CaptureOptions()).chains.first {
            $0.rules.contains { $0.action == .restorePacketMarkFromConnection }
        }
        #expect(restore?.kind == .route)
        #expect(restore?.hook == .output)
    }
}
