import ZestCore

/// What the destination knows about one inbound connection when it authorizes it.
public struct AuthorizationRequest: Sendable {
    /// The verified SPIFFE identity of the peer; nil for plaintext (inbound 15006).
    public let peer: SpiffeID?
    /// The TCP peer's address (a waypoint's, when a waypoint relayed the connection).
    public let source: IPAddress
    /// The local pod address and the *target* port (never 15008).
    public let destination: SocketAddress

    let principal: String
    let peerNamespace: String

    public init(peer: SpiffeID?, source: IPAddress, destination: SocketAddress) {
        self.peer = peer
        self.source = source
        self.destination = destination
        self.principal = peer?.principal ?? ""
        self.peerNamespace = peer?.namespace ?? ""
    }
}

/// The policies that apply to one destination, split by how they are evaluated. Computed
/// once per workload and snapshot (`MeshState`), or per call by `PolicySet.authorize(_:workload:)`.
public struct AuthorizationTarget: Hashable, Sendable {
    /// Indices into `PolicySet.policies`, each list in evaluation order.
    public let dryRun: [Int32]
    public let denies: [Int32]
    public let allows: [Int32]

    init(_ applicable: [Int32], _ policies: [AuthorizationPolicy]) {
        dryRun = applicable.filter { policies[Int($0)].dryRun }
        denies = applicable.filter { !policies[Int($0)].dryRun && policies[Int($0)].action == .deny }
        allows = applicable.filter { !policies[Int($0)].dryRun && policies[Int($0)].action == .allow }
    }
}

extension PolicySet {
    /// The policies that apply to `workload`, split for evaluation.
    public func target(for workload: Workload?) -> AuthorizationTarget {
        AuthorizationTarget(applicableIndices(to: workload), policies)
    }

    /// Decides whether `request` may reach `workload` (nil when the destination is not a
    /// known workload), with Istio's L4 semantics:
    /// STRICT mTLS without a peer identity → deny; any enforced DENY matching → deny; no
    /// enforced ALLOW applying → allow; an ALLOW matching → allow; otherwise deny.
    /// Dry-run policies are evaluated and reported in `dryRun`, never enforced.
    /// Finds the applicable policies first; `MeshState.authorize` uses targets computed once
    /// per snapshot instead.
    public func authorize(_ request: AuthorizationRequest, workload: Workload?) -> AuthorizationDecision {
        authorize(request, workload: workload, target: target(for: workload))
    }

    /// `authorize(_:workload:)` over `target`, the result of `target(for: workload)`.
    public func authorize(_ request: AuthorizationRequest, workload: Workload?,
                          target: AuthorizationTarget) -> AuthorizationDecision {
        if request.peer == nil {
            let (mode, source) = mtlsMode(for: workload, port: request.destination.port)
            if mode == .strict, let source {
                return AuthorizationDecision(allowed: false, reason: .strictMTLS(
                    PolicyReference(.peerAuthentication, namespace: source.namespace, name: source.name)))
            }
        }
        let r = CompiledRequest(request, compiled)
        return compiled.withEvaluator(request) { evaluator in
            // Dry-run policies first, as ztunnel logs them before deciding.
            var notes: [DryRunNote] = []
            for i in target.dryRun {
                let p = policies[Int(i)]
                notes.append(DryRunNote(policy: p.reference, action: p.action, matchedRule: evaluator.firstMatchingRule(i, r)))
            }
            for i in target.denies {
                if let rule = evaluator.firstMatchingRule(i, r) {
                    return AuthorizationDecision(allowed: false, reason: .deniedBy(policies[Int(i)].reference, rule: rule),
                                                 dryRun: notes)
                }
            }
            for i in target.allows {
                if let rule = evaluator.firstMatchingRule(i, r) {
                    return AuthorizationDecision(allowed: true, reason: .allowedBy(policies[Int(i)].reference, rule: rule),
                                                 dryRun: notes)
                }
            }
            if target.allows.isEmpty {
                let none = target.denies.isEmpty && target.dryRun.isEmpty
                return AuthorizationDecision(allowed: true, reason: none ? .noPolicyApplied : .noDenyMatched, dryRun: notes)
            }
            return AuthorizationDecision(allowed: false, reason: .noAllowMatched(target.allows.map { policies[Int($0)].reference }),
                                         dryRun: notes)
        }
    }
}

extension AuthorizationPolicy {
    public var reference: PolicyReference { PolicyReference(.authorizationPolicy, namespace: namespace, name: name) }

    /// Index of the first rule that matches `request`, or nil; a policy without rules never
    /// matches. This is the reference semantics, written for reading; `PolicySet.authorize`
    /// runs the compiled form (`CompiledPolicies`), and a differential test keeps them equal.
    public func firstMatchingRule(_ request: AuthorizationRequest) -> Int? {
        rules.firstIndex { $0.matches(request) }
    }
}

extension PolicyRule {
    /// Every clause matches; a rule without clauses matches everything.
    public func matches(_ request: AuthorizationRequest) -> Bool {
        clauses.allSatisfy { $0.matches(request) }
    }
}

extension PolicyClause {
    /// Any match matches; a clause without matches matches everything.
    public func matches(_ request: AuthorizationRequest) -> Bool {
        matches.isEmpty || matches.contains { $0.matches(request) }
    }
}

extension PolicyMatch {
    /// True when every condition holds; an empty match never holds.
    public func matches(_ r: AuthorizationRequest) -> Bool {
        if isEmpty { return false }
        let dst = r.destination
        return PolicyMatch.holds(destinationIPs, notDestinationIPs) { $0.contains(dst.ip) }
            && PolicyMatch.holds(sourceIPs, notSourceIPs) { $0.contains(r.source) }
            && PolicyMatch.holds(destinationPorts, notDestinationPorts) { $0 == dst.port }
            && PolicyMatch.holds(serviceAccounts, notServiceAccounts) { sa in
                guard let peer = r.peer else { return false }
                return peer.namespace == sa.namespace && peer.serviceAccount == sa.serviceAccount
            }
            // Principals never match a connection without an identity, not even `presence`.
            && PolicyMatch.holds(principals, notPrincipals) { !r.principal.isEmpty && $0.matches(r.principal) }
            && PolicyMatch.holds(namespaces, notNamespaces) { $0.matches(r.peerNamespace) }
    }

    /// A positive list holds when empty or any value matches; a negative list when no value does.
    static func holds<T>(_ positive: [T], _ negative: [T], _ predicate: (T) -> Bool) -> Bool {
        (positive.isEmpty || positive.contains(where: predicate)) && !negative.contains(where: predicate)
    }
}
