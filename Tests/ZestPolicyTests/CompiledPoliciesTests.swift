import Testing
import ZestTestSupport
import ZestCore
@testable import ZestPolicy

/// The compiled evaluator that `authorize` runs agrees with the readable reference
/// semantics (`AuthorizationPolicy.firstMatchingRule`) on random policies and connections.
@Suite struct CompiledPoliciesTests {
    final class Vocabulary {
        var rng: SplitMix
        init(rng: SplitMix) { self.rng = rng }
        let namespaces = ["orders", "shop", "payments", ""]
        let accounts = ["orders-api", "web", "batch"]
        let ips = ["10.0.2.7", "10.0.3.3", "192.168.1.1", "fd00:1::7"]
        let cidrs = ["10.0.0.0/16", "10.0.2.7/32", "192.168.0.0/16", "fd00:1::/64", "0.0.0.0/0"]
        let ports: [UInt16] = [22, 8080, 9090]

        func below(_ n: Int) -> Int { Int(rng.next(upperBound: UInt64(n))) }
        func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
        func some<T>(_ make: () -> T) -> [T] {
            var out: [T] = []
            for _ in 0..<below(3) { out.append(make()) }
            return out
        }
        func chance() -> Bool { below(4) == 0 }

        func stringMatch(_ values: [String]) -> StringMatch {
            let v = pick(values)
            switch below(4) {
            case 0: return .exact(v)
            case 1: return .prefix(String(v.prefix(3)))
            case 2: return .suffix(String(v.suffix(3)))
            default: return .presence
            }
        }

        func principal() -> String { "cluster.local/ns/\(pick(namespaces))/sa/\(pick(accounts))" }

        func match() -> PolicyMatch {
            var m = PolicyMatch()
            if chance() { m.namespaces = some { stringMatch(namespaces) } }
            if chance() { m.notNamespaces = some { stringMatch(namespaces) } }
            if chance() { m.principals = some { stringMatch([principal(), principal()]) } }
            if chance() { m.notPrincipals = some { stringMatch([principal()]) } }
            if chance() { m.serviceAccounts = some { ServiceAccountMatch(namespace: pick(namespaces), serviceAccount: pick(accounts)) } }
            if chance() { m.notServiceAccounts = some { ServiceAccountMatch(namespace: pick(namespaces), serviceAccount: pick(accounts)) } }
            if chance() { m.sourceIPs = some { CIDR(pick(cidrs))! } }
            if chance() { m.notSourceIPs = some { CIDR(pick(cidrs))! } }
            if chance() { m.destinationIPs = some { CIDR(pick(cidrs))! } }
            if chance() { m.notDestinationIPs = some { CIDR(pick(cidrs))! } }
            if chance() { m.destinationPorts = some { pick(ports) } }
            if chance() { m.notDestinationPorts = some { pick(ports) } }
            return m
        }

        func policy(_ i: Int) -> AuthorizationPolicy {
            let rules = some { PolicyRule(some { PolicyClause(some { match() }) }) }
            return AuthorizationPolicy(name: "p\(i)", namespace: "payments", action: chance() ? .deny : .allow,
                                       rules: rules, dryRun: below(8) == 0)
        }

        func request() -> AuthorizationRequest {
            let peer: SpiffeID? = chance() ? nil
                : try! SpiffeID(trustDomain: "cluster.local", namespace: pick(namespaces.filter { !$0.isEmpty }),
                                serviceAccount: pick(accounts))
            let dst = pick(ips)
            return AuthorizationRequest(peer: peer, source: IPAddress(pick(ips))!,
                                        destination: SocketAddress(ip: IPAddress(dst)!, port: pick(ports)))
        }
    }

    /// What `authorize` must return, computed with the reference matcher.
    func reference(_ policies: [AuthorizationPolicy], _ r: AuthorizationRequest) -> (Bool, String?, Int?) {
        for p in policies where !p.dryRun && p.action == .deny {
            if let rule = p.firstMatchingRule(r) { return (false, p.name, rule) }
        }
        let allows = policies.filter { !$0.dryRun && $0.action == .allow }
        if allows.isEmpty { return (true, nil, nil) }
        for p in allows {
            if let rule = p.firstMatchingRule(r) { return (true, p.name, rule) }
        }
        return (false, nil, nil)
    }

    @Test func compiledAndReferenceAgreeOnRandomPolicies() {
        let v = Vocabulary(rng: SplitMix(seed: 2026))
        var outcomes: [String: Int] = [:]
        for round in 0..<400 {
            var policies: [AuthorizationPolicy] = []
            for i in 0..<(1 + v.below(6)) { policies.append(v.policy(i)) }
            let set = PolicySet(policies: policies)
            for _ in 0..<10 {
                let r = v.request()
                let d = set.authorize(r, workload: Fx.paymentsAPI)
                let (allowed, name, rule) = reference(policies, r)
                outcomes["\(allowed)-\(name == nil ? "default" : "rule")", default: 0] += 1
                var decided: (String?, Int?) = (nil, nil)
                if case .allowedBy(let p, let i) = d.reason { decided = (p.name, i) }
                if case .deniedBy(let p, let i) = d.reason { decided = (p.name, i) }
                #expect(d.allowed == allowed && decided.0 == name && decided.1 == rule,
                        "round \(round): \(d) vs reference \(allowed) \(name ?? "-") \(rule ?? -1)\n\(policies)\n\(r.peer?.uri ?? "none") \(r.source) → \(r.destination)")
                let dryRuns = policies.filter { $0.dryRun }
                #expect(d.dryRun.map { $0.matchedRule } == dryRuns.map { $0.firstMatchingRule(r) })
            }
        }
        // The random cases reach every kind of outcome, each many times.
        #expect(outcomes.count == 4 && outcomes.values.allSatisfy { $0 > 100 }, "\(outcomes)")
    }

    @Test func interningFindsEveryStringAndOnlyThose() {
        var interner = StringInterner()
        let words = (0..<500).map { "cluster.local/ns/ns-\($0)/sa/sa-\($0 % 7)" }
        let ids = words.map { interner.intern($0) }
        #expect(Set(ids).count == 500)
        #expect(words.map { interner.id(of: $0) } == ids)
        #expect(interner.id(of: "cluster.local/ns/ns-500/sa/sa-3") == -1)
        #expect(interner.intern(words[42]) == ids[42])
    }
}
