import ZestCore

/// What the destination knows about one inbound connection when it authorizes it.
public struct AuthorizationRequest: Sendable {
    /// The verified SPIFFE identity of the peer; nil for plaintext (inbound 15006).
    public let peer: SpiffeID?
    /// The TCP peer's address (a waypoint's, when a waypoint relayed the connection).
    public let source: IPAddress
    /// The local pod address and the *target* port (never 15008).
    public let destination: SocketAddress

    @usableFromInline let principal: String
    @usableFromInline let peerNamespace: String

    public init(peer: SpiffeID?, source: IPAddress, destination: SocketAddress) {
        self.peer = peer
        self.source = source
        self.destination = destination
        self.principal = peer?.principal ?? ""
        self.peerNamespace = peer?.namespace ?? ""
    }
}

extension PolicySet {
    /// Decides whether `request` may reach `workload` (nil when the destination is not a
    /// known workload), with Istio's L4 semantics:
    /// STRICT mTLS without a peer identity → deny; any enforced DENY matching → deny; no
    /// enforced ALLOW applying → allow; an ALLOW matching → allow; otherwise deny.
    /// Dry-run policies are evaluated and reported in `dryRun`, never enforced.
    public func authorize(_ request: AuthorizationRequest, workload: Workload?) -> AuthorizationDecision {
        if request.peer == nil {
            let (mode, source) = mtlsMode(for: workload, port: request.destination.port)
            if mode == .strict, let source {
                return AuthorizationDecision(allowed: false, reason: .strictMTLS(
                    PolicyReference(.peerAuthentication, namespace: source.namespace, name: source.name)))
            }
        }
        var notes: [DryRunNote] = []
        var denied: AuthorizationDecision?
        forEachApplicable(to: workload) { p in
            guard denied == nil, p.action == .deny else { return }
            let rule = p.firstMatchingRule(request)
            if p.dryRun {
                notes.append(DryRunNote(policy: p.reference, action: .deny, matchedRule: rule))
            } else if let rule {
                denied = AuthorizationDecision(allowed: false, reason: .deniedBy(p.reference, rule: rule))
            }
        }
        if var denied {
            denied.dryRun = notes
            return denied
        }
        var enforcedAllows = 0, anyPolicy = false
        var allowed: AuthorizationDecision?
        forEachApplicable(to: workload) { p in
            anyPolicy = true
            guard p.action == .allow else { return }
            if p.dryRun {
                notes.append(DryRunNote(policy: p.reference, action: .allow, matchedRule: p.firstMatchingRule(request)))
                return
            }
            enforcedAllows += 1
            guard allowed == nil, let rule = p.firstMatchingRule(request) else { return }
            allowed = AuthorizationDecision(allowed: true, reason: .allowedBy(p.reference, rule: rule))
        }
        if var allowed {
            allowed.dryRun = notes
            return allowed
        }
        if enforcedAllows == 0 {
            return AuthorizationDecision(allowed: true, reason: anyPolicy ? .noDenyMatched : .noPolicyApplied,
                                         dryRun: notes)
        }
        var names: [PolicyReference] = []
        forEachApplicable(to: workload) { p in
            if p.action == .allow, !p.dryRun { names.append(p.reference) }
        }
        return AuthorizationDecision(allowed: false, reason: .noAllowMatched(names), dryRun: notes)
    }
}

extension AuthorizationPolicy {
    public var reference: PolicyReference { PolicyReference(.authorizationPolicy, namespace: namespace, name: name) }

    /// Index of the first rule that matches `request`, or nil. A policy without rules never matches.
    @inlinable
    public func firstMatchingRule(_ request: AuthorizationRequest) -> Int? {
        for i in rules.indices where rules[i].matches(request) { return i }
        return nil
    }
}

extension PolicyRule {
    @inlinable
    public func matches(_ request: AuthorizationRequest) -> Bool {
        for clause in clauses where !clause.matches(request) { return false }
        return true
    }
}

extension PolicyClause {
    @inlinable
    public func matches(_ request: AuthorizationRequest) -> Bool {
        if matches.isEmpty { return true }
        for m in matches where m.matches(request) { return true }
        return false
    }
}

extension PolicyMatch {
    /// True when every condition holds; an empty match never holds.
    @inlinable
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
            && PolicyMatch.holds(principals, notPrincipals) { !r.principal.isEmpty && $0.matches(r.principal) }
            && PolicyMatch.holds(namespaces, notNamespaces) { $0.matches(r.peerNamespace) }
    }

    /// A positive list holds when empty or any value matches; a negative list when no value does.
    @inlinable
    static func holds<T>(_ positive: [T], _ negative: [T], _ predicate: (T) -> Bool) -> Bool {
        if !positive.isEmpty {
            var any = false
            for v in positive where predicate(v) { any = true; break }
            if !any { return false }
        }
        for v in negative where predicate(v) { return false }
        return true
    }
}
