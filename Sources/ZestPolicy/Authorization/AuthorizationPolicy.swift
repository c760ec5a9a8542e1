import ZestCore

/// One L4 authorization policy in ztunnel's model (`istio.security.Authorization`):
/// rules are OR-ed, a rule's clauses AND-ed, a clause's matches OR-ed.
public struct AuthorizationPolicy: Hashable, Sendable {
    public enum Action: String, Hashable, Sendable {
        case allow = "ALLOW"
        case deny = "DENY"
    }

    public enum Scope: String, Hashable, Sendable {
        /// Every workload in the mesh (policies in the root namespace).
        case global = "Global"
        /// Every workload in the policy's namespace.
        case namespace = "Namespace"
        /// Workloads in the policy's namespace whose labels match `selector`, or which name the
        /// policy in their `authorizationPolicies` list.
        case workloadSelector = "WorkloadSelector"
    }

    public var name: String
    public var namespace: String
    public var scope: Scope
    public var action: Action
    public var rules: [PolicyRule]
    /// Evaluated and reported, never enforced.
    public var dryRun: Bool
    /// Label selector from an AuthorizationPolicy's `spec.selector.matchLabels`. With
    /// `.global` scope it narrows a root-namespace policy to matching workloads.
    public var selector: [String: String]?

    public init(name: String, namespace: String, scope: Scope = .namespace, action: Action = .allow,
                rules: [PolicyRule] = [], dryRun: Bool = false, selector: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.scope = scope
        self.action = action
        self.rules = rules
        self.dryRun = dryRun
        self.selector = selector
    }

    /// `namespace/name`, the policy's key in xDS and in workloads' policy lists.
    public var key: String { "\(namespace)/\(name)" }
}

/// A rule matches when every clause matches; a rule without clauses matches everything.
public struct PolicyRule: Hashable, Sendable {
    public var clauses: [PolicyClause]
    public init(_ clauses: [PolicyClause] = []) { self.clauses = clauses }
}

/// A clause matches when any of its matches does; an empty clause matches.
public struct PolicyClause: Hashable, Sendable {
    public var matches: [PolicyMatch]
    public init(_ matches: [PolicyMatch]) { self.matches = matches }
}

/// A set of conditions that must all hold. Within one field, any value may match; a `not`
/// field holds when no value matches. A match with no conditions at all never matches.
public struct PolicyMatch: Hashable, Sendable {
    public var namespaces: [StringMatch]
    public var notNamespaces: [StringMatch]
    public var principals: [StringMatch]
    public var notPrincipals: [StringMatch]
    public var serviceAccounts: [ServiceAccountMatch]
    public var notServiceAccounts: [ServiceAccountMatch]
    public var sourceIPs: [CIDR]
    public var notSourceIPs: [CIDR]
    public var destinationIPs: [CIDR]
    public var notDestinationIPs: [CIDR]
    public var destinationPorts: [UInt16]
    public var notDestinationPorts: [UInt16]

    public init(namespaces: [StringMatch] = [], notNamespaces: [StringMatch] = [],
                principals: [StringMatch] = [], notPrincipals: [StringMatch] = [],
                serviceAccounts: [ServiceAccountMatch] = [], notServiceAccounts: [ServiceAccountMatch] = [],
                sourceIPs: [CIDR] = [], notSourceIPs: [CIDR] = [],
                destinationIPs: [CIDR] = [], notDestinationIPs: [CIDR] = [],
                destinationPorts: [UInt16] = [], notDestinationPorts: [UInt16] = []) {
        self.namespaces = namespaces
        self.notNamespaces = notNamespaces
        self.principals = principals
        self.notPrincipals = notPrincipals
        self.serviceAccounts = serviceAccounts
        self.notServiceAccounts = notServiceAccounts
        self.sourceIPs = sourceIPs
        self.notSourceIPs = notSourceIPs
        self.destinationIPs = destinationIPs
        self.notDestinationIPs = notDestinationIPs
        self.destinationPorts = destinationPorts
        self.notDestinationPorts = notDestinationPorts
    }

    public var isEmpty: Bool {
        namespaces.isEmpty && notNamespaces.isEmpty && principals.isEmpty && notPrincipals.isEmpty
            && serviceAccounts.isEmpty && notServiceAccounts.isEmpty && sourceIPs.isEmpty
            && notSourceIPs.isEmpty && destinationIPs.isEmpty && notDestinationIPs.isEmpty
            && destinationPorts.isEmpty && notDestinationPorts.isEmpty
    }
}
