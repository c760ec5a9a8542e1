import ZestCore

/// The policies of a `PolicySet` compiled into one flat array of integers, so that
/// evaluating a connection is a walk over integers: no reference counting, no string
/// comparison for exact principals, namespaces and service accounts (they are interned to
/// integers once per snapshot and once per request).
///
/// Layout per policy, starting at `entry[policy]`:
/// `ruleCount`, then per rule `clauseCount`, per clause `matchCount`, per match
/// `fieldCount`, per field `kind, valueCount, values…`. `PolicyMatch.matches` is the
/// reference semantics; a differential test holds the two together.
struct CompiledPolicies: Sendable {
    enum Field: Int32 {
        case namespaces = 1, notNamespaces, principals, notPrincipals, serviceAccounts, notServiceAccounts
        case sourceIPs, notSourceIPs, destinationIPs, notDestinationIPs, ports, notPorts
    }

    /// String values are tagged in their top bits: exact strings carry an interned id,
    /// prefix and suffix an index into `patterns`.
    static let exactTag: Int32 = 0, prefixTag: Int32 = 1 << 28, suffixTag: Int32 = 2 << 28, presenceTag: Int32 = 3 << 28
    static let tagMask: Int32 = 3 << 28, valueMask: Int32 = (1 << 28) - 1

    private(set) var code: ContiguousArray<Int32> = []
    private(set) var entry: ContiguousArray<Int32> = []
    private(set) var cidrs: ContiguousArray<CIDR> = []
    private(set) var patterns: ContiguousArray<String> = []
    private(set) var interner = StringInterner()
    /// Whether any match names service accounts; spares requests building `ns/sa` otherwise.
    private(set) var usesServiceAccounts = false

    init(_ policies: [AuthorizationPolicy]) {
        for p in policies {
            entry.append(Int32(code.count))
            code.append(Int32(p.rules.count))
            for rule in p.rules {
                code.append(Int32(rule.clauses.count))
                for clause in rule.clauses {
                    code.append(Int32(clause.matches.count))
                    for m in clause.matches { emit(m) }
                }
            }
        }
    }

    /// The id of an exact string, or -1 when no policy mentions it.
    func id(of s: String) -> Int32 { interner.id(of: s) }

    private mutating func intern(_ s: String) -> Int32 { interner.intern(s) }

    private mutating func emit(_ m: PolicyMatch) {
        let countAt = code.count
        code.append(0)
        var fields: Int32 = 0
        func field(_ kind: Field, _ values: [Int32]) {
            guard !values.isEmpty else { return }
            code.append(kind.rawValue)
            code.append(Int32(values.count))
            code.append(contentsOf: values)
            fields += 1
        }
        field(.namespaces, m.namespaces.map { strings($0) })
        field(.notNamespaces, m.notNamespaces.map { strings($0) })
        field(.principals, m.principals.map { strings($0) })
        field(.notPrincipals, m.notPrincipals.map { strings($0) })
        usesServiceAccounts = usesServiceAccounts || !m.serviceAccounts.isEmpty || !m.notServiceAccounts.isEmpty
        field(.serviceAccounts, m.serviceAccounts.map { intern("\($0.namespace)/\($0.serviceAccount)") })
        field(.notServiceAccounts, m.notServiceAccounts.map { intern("\($0.namespace)/\($0.serviceAccount)") })
        field(.sourceIPs, m.sourceIPs.map { cidr($0) })
        field(.notSourceIPs, m.notSourceIPs.map { cidr($0) })
        field(.destinationIPs, m.destinationIPs.map { cidr($0) })
        field(.notDestinationIPs, m.notDestinationIPs.map { cidr($0) })
        field(.ports, m.destinationPorts.map { Int32($0) })
        field(.notPorts, m.notDestinationPorts.map { Int32($0) })
        code[countAt] = fields
    }

    private mutating func strings(_ s: StringMatch) -> Int32 {
        switch s {
        case .exact(let v): return CompiledPolicies.exactTag | intern(v)
        case .prefix(let v): patterns.append(v); return CompiledPolicies.prefixTag | Int32(patterns.count - 1)
        case .suffix(let v): patterns.append(v); return CompiledPolicies.suffixTag | Int32(patterns.count - 1)
        case .presence: return CompiledPolicies.presenceTag
        }
    }

    private mutating func cidr(_ c: CIDR) -> Int32 {
        cidrs.append(c)
        return Int32(cidrs.count - 1)
    }
}
