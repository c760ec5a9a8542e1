/// Names the policy object that decided, for logs, the CLI and `401` responses.
public struct PolicyReference: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case authorizationPolicy = "AuthorizationPolicy"
        case peerAuthentication = "PeerAuthentication"
    }

    public var kind: Kind
    public var namespace: String
    public var name: String

    public init(_ kind: Kind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(kind.rawValue) \(namespace)/\(name)" }
}

/// What a dry-run policy would have done; reported, never enforced.
public struct DryRunNote: Hashable, Sendable, CustomStringConvertible {
    public var policy: PolicyReference
    public var action: AuthorizationPolicy.Action
    /// Index of the rule that matched, nil when none did.
    public var matchedRule: Int?

    public var description: String {
        if let rule = matchedRule {
            return "dry-run: \(action.rawValue) \(policy) rules[\(rule)] would match"
        }
        return "dry-run: \(action.rawValue) \(policy) would not match"
    }
}

/// The outcome of `PolicySet.authorize`: the verdict, why, and any dry-run observations.
public struct AuthorizationDecision: Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// No policy applies to the destination.
        case noPolicyApplied
        /// Only DENY policies apply and none matched.
        case noDenyMatched
        /// This ALLOW policy's rule matched.
        case allowedBy(PolicyReference, rule: Int)
        /// This DENY policy's rule matched.
        case deniedBy(PolicyReference, rule: Int)
        /// ALLOW policies apply, none matched.
        case noAllowMatched([PolicyReference])
        /// STRICT mTLS is in force and the connection carries no peer identity.
        case strictMTLS(PolicyReference)
    }

    public var allowed: Bool
    public var reason: Reason
    public var dryRun: [DryRunNote]

    public init(allowed: Bool, reason: Reason, dryRun: [DryRunNote] = []) {
        self.allowed = allowed
        self.reason = reason
        self.dryRun = dryRun
    }

    /// The policy that decided, when one did.
    public var decidingPolicy: PolicyReference? {
        switch reason {
        case .allowedBy(let p, _), .deniedBy(let p, _), .strictMTLS(let p): return p
        case .noPolicyApplied, .noDenyMatched, .noAllowMatched: return nil
        }
    }

    public var description: String {
        let verdict = allowed ? "ALLOW" : "DENY"
        switch reason {
        case .noPolicyApplied: return "\(verdict): no policy applies"
        case .noDenyMatched: return "\(verdict): no DENY policy matched and no ALLOW policy applies"
        case .allowedBy(let p, let rule): return "\(verdict): allowed by \(p) rules[\(rule)]"
        case .deniedBy(let p, let rule): return "\(verdict): denied by \(p) rules[\(rule)]"
        case .noAllowMatched(let ps):
            return "\(verdict): ALLOW policies apply but none matched (\(ps.map(\.description).joined(separator: ", ")))"
        case .strictMTLS(let p): return "\(verdict): STRICT mTLS (\(p)) and the connection has no peer identity"
        }
    }
}
