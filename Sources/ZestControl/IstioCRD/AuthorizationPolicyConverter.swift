import ZestCore
import ZestPolicy

/// Converts `security.istio.io` AuthorizationPolicy resources to L4 policies the way istiod
/// does for ztunnel:
/// - an ALLOW rule with any HTTP-only attribute is dropped whole (it allows less, never more);
/// - in a DENY rule the HTTP-only attributes are removed and the L4 remainder is enforced; a
///   source, operation or condition left with nothing becomes a match that never matches;
/// - AUDIT and CUSTOM policies, and policies bound to a waypoint or gateway with
///   `targetRef(s)`, have no L4 effect.
/// Each such change is reported as a warning naming the policy.
struct AuthorizationPolicyConverter {
    let file: String
    let rootNamespace: String
    var warnings: [ConfigWarning] = []

    static let specKeys: Set<String> = ["selector", "targetRef", "targetRefs", "action", "provider", "rules"]
    static let sourceKeys: Set<String> = [
        "principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks", "serviceAccounts",
        "notServiceAccounts", "requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks",
    ]
    static let operationKeys: Set<String> = ["ports", "notPorts", "hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"]

    /// The L4 policy, or nil when the resource has no L4 effect.
    mutating func convert(_ doc: YAMLValue) throws(ConfigError) -> AuthorizationPolicy? {
        let meta = try IstioMetadata.decode(doc, file: file, warnings: &warnings)
        var policy = AuthorizationPolicy(name: meta.name, namespace: meta.namespace)
        guard let spec = try doc.optional("spec") else { return scoped(policy, selector: nil) }
        _ = try spec.mapping(allowed: Self.specKeys)
        let targetRef = try spec.optional("targetRef"), targetRefs = try spec.optional("targetRefs")
        if let target = targetRef ?? targetRefs {
            warn(target.line, meta.key, "targetRef binds this policy to a waypoint or gateway; it has no effect in Zest (L4) and is ignored")
            return nil
        }
        let action = try spec.optional("action")?.choice(["ALLOW": "ALLOW", "DENY": "DENY", "AUDIT": "AUDIT", "CUSTOM": "CUSTOM"]) ?? "ALLOW"
        guard action == "ALLOW" || action == "DENY" else {
            warn(spec.line, meta.key, "action \(action) has no effect at L4; the policy is ignored")
            return nil
        }
        policy.action = action == "ALLOW" ? .allow : .deny
        let rules = try spec.optional("rules")?.sequence() ?? []
        for (index, rule) in rules.enumerated() {
            if let converted = try convertRule(rule, index: index, action: policy.action, key: meta.key) {
                policy.rules.append(converted)
            }
        }
        if policy.action == .allow, !rules.isEmpty, policy.rules.isEmpty {
            warn(meta.line, meta.key, "no rule is enforceable at L4: this ALLOW policy allows nothing, so the workloads it selects accept only what another ALLOW policy admits")
        }
        return scoped(policy, selector: try IstioMetadata.selector(spec))
    }

    private func scoped(_ p: AuthorizationPolicy, selector: [String: String]?) -> AuthorizationPolicy {
        var p = p
        p.selector = selector
        if p.namespace == rootNamespace {
            p.scope = .global
        } else {
            p.scope = selector == nil ? .namespace : .workloadSelector
        }
        return p
    }

    private mutating func warn(_ line: Int, _ key: String, _ message: String) {
        warnings.append(ConfigWarning(file: file, line: line, policy: key, message: message))
    }

    /// One rule: a clause for `from`, one for `to`, one per `when` condition.
    private mutating func convertRule(_ rule: YAMLValue, index: Int, action: AuthorizationPolicy.Action,
                                      key: String) throws(ConfigError) -> PolicyRule? {
        _ = try rule.mapping(allowed: ["from", "to", "when"])
        var l7: [String] = []
        var emptied: [String] = []
        var clauses: [PolicyClause] = []
        let froms = try rule.optional("from")?.sequence() ?? []
        if !froms.isEmpty {
            var matches: [PolicyMatch] = []
            for f in froms {
                _ = try f.mapping(allowed: ["source"])
                let source = try f.required("source")
                let (m, dropped) = try convertSource(source)
                l7 += dropped
                if m.isEmpty, !dropped.isEmpty { emptied.append(source.path) }
                matches.append(m)
            }
            clauses.append(PolicyClause(matches))
        }
        let tos = try rule.optional("to")?.sequence() ?? []
        if !tos.isEmpty {
            var matches: [PolicyMatch] = []
            for t in tos {
                _ = try t.mapping(allowed: ["operation"])
                let operation = try t.required("operation")
                let (m, dropped) = try convertOperation(operation)
                l7 += dropped
                if m.isEmpty, !dropped.isEmpty { emptied.append(operation.path) }
                matches.append(m)
            }
            clauses.append(PolicyClause(matches))
        }
        for condition in try rule.optional("when")?.sequence() ?? [] {
            let m = try convertCondition(condition)
            if m.isEmpty {
                l7.append("\(condition.path) (\(try condition.required("key").string()))")
                emptied.append(condition.path)
            }
            clauses.append(PolicyClause([m]))
        }
        guard !l7.isEmpty else { return PolicyRule(clauses) }
        let fields = l7.joined(separator: ", ")
        if action == .allow {
            warn(rule.line, key, "ALLOW rules[\(index)] uses HTTP-only fields not enforceable at L4 (\(fields)); the rule is dropped and allows nothing")
            return nil
        }
        if emptied.isEmpty {
            warn(rule.line, key, "DENY rules[\(index)]: HTTP-only fields removed (\(fields)); the L4 remainder is enforced, so it denies more than at L7")
        } else {
            warn(rule.line, key, "DENY rules[\(index)]: \(emptied.joined(separator: ", ")) had only HTTP-only fields (\(fields)) and never matches at L4; the rule has no effect")
        }
        return PolicyRule(clauses)
    }

    private func convertSource(_ v: YAMLValue) throws(ConfigError) -> (PolicyMatch, [String]) {
        var m = PolicyMatch(), l7: [String] = []
        for (key, value) in try v.mapping(allowed: Self.sourceKeys) {
            switch key {
            case "principals": m.principals = try patterns(value)
            case "notPrincipals": m.notPrincipals = try patterns(value)
            case "namespaces": m.namespaces = try patterns(value)
            case "notNamespaces": m.notNamespaces = try patterns(value)
            case "ipBlocks": m.sourceIPs = try cidrs(value)
            case "notIpBlocks": m.notSourceIPs = try cidrs(value)
            case "serviceAccounts": m.serviceAccounts = try serviceAccounts(value)
            case "notServiceAccounts": m.notServiceAccounts = try serviceAccounts(value)
            default: l7.append(value.path)
            }
        }
        return (m, l7)
    }

    private func convertOperation(_ v: YAMLValue) throws(ConfigError) -> (PolicyMatch, [String]) {
        var m = PolicyMatch(), l7: [String] = []
        for (key, value) in try v.mapping(allowed: Self.operationKeys) {
            switch key {
            case "ports": m.destinationPorts = try ports(value)
            case "notPorts": m.notDestinationPorts = try ports(value)
            default: l7.append(value.path)
            }
        }
        return (m, l7)
    }

    /// A `when` condition; keys other than the L4 ones give an empty match.
    private func convertCondition(_ v: YAMLValue) throws(ConfigError) -> PolicyMatch {
        _ = try v.mapping(allowed: ["key", "values", "notValues"])
        let key = try v.required("key").string()
        let values = try v.optional("values"), notValues = try v.optional("notValues")
        var m = PolicyMatch()
        switch key {
        case "source.ip":
            if let values { m.sourceIPs = try cidrs(values) }
            if let notValues { m.notSourceIPs = try cidrs(notValues) }
        case "destination.ip":
            if let values { m.destinationIPs = try cidrs(values) }
            if let notValues { m.notDestinationIPs = try cidrs(notValues) }
        case "destination.port":
            if let values { m.destinationPorts = try ports(values) }
            if let notValues { m.notDestinationPorts = try ports(notValues) }
        case "source.namespace":
            if let values { m.namespaces = try patterns(values) }
            if let notValues { m.notNamespaces = try patterns(notValues) }
        case "source.principal":
            if let values { m.principals = try patterns(values) }
            if let notValues { m.notPrincipals = try patterns(notValues) }
        default:
            break
        }
        return m
    }

    private func patterns(_ v: YAMLValue) throws(ConfigError) -> [StringMatch] {
        try v.strings().map(StringMatch.init(istioPattern:))
    }

    private func cidrs(_ v: YAMLValue) throws(ConfigError) -> [CIDR] {
        try v.sequence().map { v throws(ConfigError) in try v.cidr() }
    }

    private func ports(_ v: YAMLValue) throws(ConfigError) -> [UInt16] {
        try v.sequence().map { v throws(ConfigError) in try v.port() }
    }

    private func serviceAccounts(_ v: YAMLValue) throws(ConfigError) -> [ServiceAccountMatch] {
        try v.sequence().map { item throws(ConfigError) in
            let parts = try item.string().split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw item.error("expected 'namespace/serviceAccount'")
            }
            return ServiceAccountMatch(namespace: String(parts[0]), serviceAccount: String(parts[1]))
        }
    }
}
