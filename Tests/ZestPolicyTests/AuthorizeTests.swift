import Testing
import ZestCore
@testable import ZestPolicy

@Suite struct AuthorizeTests {
    @Test(arguments: authorizeCases)
    func decision(_ c: AuthorizeCase) {
        let set = PolicySet(policies: c.policies, peerAuthentications: c.peerAuthentications)
        let request = AuthorizationRequest(peer: c.peer, source: Fx.ip(c.source), destination: Fx.sock(c.destination))
        let d = set.authorize(request, workload: c.workload)
        #expect(d.allowed == c.allowed, "\(d)")
        if let expected = c.decidedBy {
            #expect(d.decidingPolicy.map { "\($0.namespace)/\($0.name)" } == expected, "\(d)")
        }
        if let rule = c.rule {
            switch d.reason {
            case .allowedBy(_, let r), .deniedBy(_, let r): #expect(r == rule)
            default: Issue.record("expected a deciding rule, got \(d)")
            }
        }
        #expect(d.dryRun.count == c.dryRunNotes, "\(d.dryRun)")
        // The snapshot's precomputed per-workload targets decide the same way.
        let state = MeshState(workloads: c.workload.map { [$0] } ?? [], policies: set)
        #expect(state.authorize(request) == d)
    }

    @Test func tableHasAtLeastFortyCases() {
        #expect(authorizeCases.count >= 40)
    }

    @Test func denyWhenAllowPoliciesExistNamesThem() {
        let set = PolicySet(policies: [Fx.allow("a", []), Fx.allow("b", [Fx.rule(PolicyMatch(namespaces: [.exact("x")]))])])
        let d = set.authorize(AuthorizationRequest(peer: nil, source: Fx.ip("10.0.0.1"), destination: Fx.sock("10.0.1.5:80")),
                              workload: Fx.paymentsAPI)
        #expect(d.reason == .noAllowMatched([PolicyReference(.authorizationPolicy, namespace: "payments", name: "a"),
                                             PolicyReference(.authorizationPolicy, namespace: "payments", name: "b")]))
        #expect(d.description.contains("payments/a"))
    }

    @Test func dryRunNoteSaysWhichRuleWouldMatch() {
        let set = PolicySet(policies: [Fx.deny("would-deny", dryRun: true, [Fx.rule(PolicyMatch(destinationPorts: [1])), Fx.matchAll])])
        let d = set.authorize(AuthorizationRequest(peer: nil, source: Fx.ip("10.0.0.1"), destination: Fx.sock("10.0.1.5:80")),
                              workload: Fx.paymentsAPI)
        #expect(d.allowed)
        #expect(d.dryRun == [DryRunNote(policy: PolicyReference(.authorizationPolicy, namespace: "payments", name: "would-deny"),
                                        action: .deny, matchedRule: 1)])
    }

    @Test func istioPatternsConvert() {
        #expect(StringMatch(istioPattern: "*") == .presence)
        #expect(StringMatch(istioPattern: "ns/*") == .prefix("ns/"))
        #expect(StringMatch(istioPattern: "*/sa/x") == .suffix("/sa/x"))
        #expect(StringMatch(istioPattern: "a/b") == .exact("a/b"))
        #expect(StringMatch.presence.matches("") == false)
    }
}
