import Yams
import ZestCore
import ZestPolicy

/// Decodes ztunnel local-config `policies` entries: `rules` is a list of rules, each a list
/// of clauses, each a list of matches with camelCase keys.
enum LocalPolicyDecoder {
    static let keys: Set<String> = ["name", "namespace", "scope", "action", "rules", "dryRun"]
    static let matchKeys: Set<String> = [
        "namespaces", "notNamespaces", "principals", "notPrincipals", "serviceAccounts", "notServiceAccounts",
        "sourceIps", "notSourceIps", "destinationIps", "notDestinationIps", "destinationPorts", "notDestinationPorts",
    ]

    static func decode(_ v: YAMLValue) throws(ConfigError) -> AuthorizationPolicy {
        _ = try v.mapping(allowed: keys)
        var p = AuthorizationPolicy(name: try v.required("name").string(), namespace: try v.required("namespace").string())
        p.scope = try v.required("scope").choice(["Global": .global, "Namespace": .namespace,
                                                  "WorkloadSelector": .workloadSelector])
        p.action = try v.required("action").choice(["Allow": .allow, "Deny": .deny, "ALLOW": .allow, "DENY": .deny])
        if let d = try v.optional("dryRun") { p.dryRun = try d.bool() }
        for rule in try v.optional("rules")?.sequence() ?? [] {
            var clauses: [PolicyClause] = []
            for clause in try rule.sequence() {
                var matches: [PolicyMatch] = []
                for m in try clause.sequence() { matches.append(try decodeMatch(m)) }
                clauses.append(PolicyClause(matches))
            }
            p.rules.append(PolicyRule(clauses))
        }
        return p
    }

    static func decodeMatch(_ v: YAMLValue) throws(ConfigError) -> PolicyMatch {
        var m = PolicyMatch()
        for (key, value) in try v.mapping(allowed: matchKeys) {
            let items = try value.sequence()
            switch key {
            case "namespaces": m.namespaces = try items.map(stringMatch)
            case "notNamespaces": m.notNamespaces = try items.map(stringMatch)
            case "principals": m.principals = try items.map(stringMatch)
            case "notPrincipals": m.notPrincipals = try items.map(stringMatch)
            case "serviceAccounts": m.serviceAccounts = try items.map(serviceAccount)
            case "notServiceAccounts": m.notServiceAccounts = try items.map(serviceAccount)
            case "sourceIps": m.sourceIPs = try items.map { v throws(ConfigError) in try v.cidr() }
            case "notSourceIps": m.notSourceIPs = try items.map { v throws(ConfigError) in try v.cidr() }
            case "destinationIps": m.destinationIPs = try items.map { v throws(ConfigError) in try v.cidr() }
            case "notDestinationIps": m.notDestinationIPs = try items.map { v throws(ConfigError) in try v.cidr() }
            case "destinationPorts": m.destinationPorts = try items.map { v throws(ConfigError) in try v.port() }
            default: m.notDestinationPorts = try items.map { v throws(ConfigError) in try v.port() }
            }
        }
        return m
    }

    /// `{Exact: x}`, `{Prefix: x}`, `{Suffix: x}`, `{Presence: {}}` (serde's map form),
    /// `!Exact x` (serde_yaml's tag form), or a plain string read as an Istio pattern.
    static func stringMatch(_ v: YAMLValue) throws(ConfigError) -> StringMatch {
        if case .scalar(let s) = v.node {
            switch s.tag.rawValue.lowercased() {
            case "!exact": return .exact(s.string)
            case "!prefix": return .prefix(s.string)
            case "!suffix": return .suffix(s.string)
            case "!presence": return .presence
            default: return StringMatch(istioPattern: s.string)
            }
        }
        if case .mapping = v.node, let (key, entry) = try v.mapping().first, try v.mapping().count == 1 {
            switch key.lowercased() {
            case "presence": return .presence
            case "exact": return .exact(try entry.string())
            case "prefix": return .prefix(try entry.string())
            case "suffix": return .suffix(try entry.string())
            default: break
            }
        }
        throw v.error("expected a string, or one of {Exact|Prefix|Suffix: value} or {Presence: {}}")
    }

    static func serviceAccount(_ v: YAMLValue) throws(ConfigError) -> ServiceAccountMatch {
        _ = try v.mapping(allowed: ["namespace", "serviceAccount"])
        return ServiceAccountMatch(namespace: try v.required("namespace").string(),
                                   serviceAccount: try v.required("serviceAccount").string())
    }
}
