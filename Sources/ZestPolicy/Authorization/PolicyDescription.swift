/// Text forms of policies as Zest enforces them, for `zest config check` and logs:
/// `ALLOW payments/x [WorkloadSelector app=api]` then one line per rule, clauses joined by
/// AND, matches by OR, fields by `,`.
extension PolicyMatch: CustomStringConvertible {
    public var description: String {
        if isEmpty { return "(nothing: never matches)" }
        var parts: [String] = []
        func add<T>(_ name: String, _ values: [T]) {
            if !values.isEmpty { parts.append("\(name)=[\(values.map { "\($0)" }.joined(separator: " "))]") }
        }
        add("namespaces", namespaces)
        add("notNamespaces", notNamespaces)
        add("principals", principals)
        add("notPrincipals", notPrincipals)
        add("serviceAccounts", serviceAccounts)
        add("notServiceAccounts", notServiceAccounts)
        add("sourceIPs", sourceIPs)
        add("notSourceIPs", notSourceIPs)
        add("destinationIPs", destinationIPs)
        add("notDestinationIPs", notDestinationIPs)
        add("ports", destinationPorts)
        add("notPorts", notDestinationPorts)
        return parts.joined(separator: ", ")
    }
}

extension PolicyClause: CustomStringConvertible {
    public var description: String {
        matches.isEmpty ? "(any)" : matches.map { "{\($0)}" }.joined(separator: " OR ")
    }
}

extension PolicyRule: CustomStringConvertible {
    public var description: String {
        clauses.isEmpty ? "matches every connection" : clauses.map(\.description).joined(separator: " AND ")
    }
}

extension AuthorizationPolicy: CustomStringConvertible {
    public var description: String {
        var head = "\(action.rawValue) \(key) [\(scope.rawValue)"
        if let selector {
            head += " " + selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        head += dryRun ? ", dry-run]" : "]"
        if rules.isEmpty { return head + "\n  (no rules: never matches)" }
        return ([head] + rules.enumerated().map { "  rules[\($0.offset)]: \($0.element)" }).joined(separator: "\n")
    }
}

extension PeerAuthentication: CustomStringConvertible {
    public var description: String {
        var s = "PeerAuthentication \(key) mode=\(mode.rawValue)"
        if let selector {
            s += " selector=" + selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        if !portModes.isEmpty {
            s += " ports=" + portModes.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.rawValue)" }.joined(separator: ",")
        }
        return s
    }
}
