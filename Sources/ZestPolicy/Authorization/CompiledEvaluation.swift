import ZestCore

/// A request as the compiled evaluator sees it: exact strings replaced by interned ids and
/// everything else flattened to plain values, so that passing it around retains nothing
/// (the texts, needed only for prefix/suffix matches, live in the evaluator).
struct CompiledRequest {
    let hasPeer: Bool
    /// Interned ids, -1 when no policy names the value (so no exact match can hold).
    let principal: Int32
    let namespace: Int32
    let serviceAccount: Int32
    let source: IPAddress
    let destination: IPAddress
    let port: Int32

    init(_ r: AuthorizationRequest, _ compiled: CompiledPolicies) {
        hasPeer = r.peer != nil
        source = r.source
        destination = r.destination.ip
        port = Int32(r.destination.port)
        principal = hasPeer ? compiled.id(of: r.principal) : -1
        namespace = compiled.id(of: r.peerNamespace)
        if let peer = r.peer, compiled.usesServiceAccounts {
            serviceAccount = compiled.id(of: "\(peer.namespace)/\(peer.serviceAccount)")
        } else {
            serviceAccount = -1
        }
    }
}

extension CompiledPolicies {
    /// Runs `body` with an evaluator over this program's buffers, taken once for all the
    /// policies of one decision.
    func withEvaluator<R>(_ request: AuthorizationRequest, _ body: (CompiledEvaluator) -> R) -> R {
        code.withUnsafeBufferPointer { code in
            entry.withUnsafeBufferPointer { entry in
                cidrs.withUnsafeBufferPointer { cidrs in
                    body(CompiledEvaluator(code: code, entry: entry, cidrs: cidrs, patterns: patterns,
                                           principalText: request.principal, namespaceText: request.peerNamespace))
                }
            }
        }
    }
}

/// Walks the compiled program; valid only inside `CompiledPolicies.withEvaluator`. Offsets
/// use wrapping arithmetic: the compiler wrote the program, so they cannot overflow.
struct CompiledEvaluator {
    let code: UnsafeBufferPointer<Int32>
    let entry: UnsafeBufferPointer<Int32>
    let cidrs: UnsafeBufferPointer<CIDR>
    let patterns: ContiguousArray<String>
    let principalText: String
    let namespaceText: String

    /// Index of the first rule of policy `policy` that matches, or nil (see
    /// `PolicyRule.firstMatch` for the reference semantics).
    func firstMatchingRule(_ policy: Int32, _ r: CompiledRequest) -> Int? {
        var pc = Int(entry[Int(policy)])
        let rules = Int(code[pc]); pc &+= 1
        for rule in 0..<rules {
            var ruleHolds = true
            let clauses = Int(code[pc]); pc &+= 1
            for _ in 0..<clauses {
                let matches = Int(code[pc]); pc &+= 1
                var clauseHolds = matches == 0
                for _ in 0..<matches {
                    // Evaluate only while the clause and rule are still undecided; skip otherwise.
                    if ruleHolds && !clauseHolds {
                        clauseHolds = evaluateMatch(&pc, r)
                    } else {
                        skipMatch(&pc)
                    }
                }
                ruleHolds = ruleHolds && clauseHolds
            }
            if ruleHolds { return rule }
        }
        return nil
    }

    private func skipMatch(_ pc: inout Int) {
        let fields = Int(code[pc]); pc &+= 1
        for _ in 0..<fields { pc &+= 2 &+ Int(code[pc &+ 1]) }
    }

    /// All fields must hold; an empty match never holds. Leaves `pc` after the match.
    private func evaluateMatch(_ pc: inout Int, _ r: CompiledRequest) -> Bool {
        let fields = Int(code[pc]); pc &+= 1
        var holds = fields > 0
        for _ in 0..<fields {
            let kind = code[pc], count = Int(code[pc &+ 1])
            let values = pc &+ 2
            pc = values &+ count
            guard holds else { continue }
            var any = false
            for i in values..<(values &+ count) where value(code[i], kind: kind, r) {
                any = true
                break
            }
            // Odd kinds are positive lists, even kinds their `not` forms.
            holds = kind & 1 == 1 ? any : !any
        }
        return holds
    }

    private func value(_ v: Int32, kind: Int32, _ r: CompiledRequest) -> Bool {
        switch CompiledPolicies.Field(rawValue: kind) {
        case .namespaces, .notNamespaces:
            return v & CompiledPolicies.tagMask == CompiledPolicies.exactTag
                ? r.namespace >= 0 && v == r.namespace : pattern(v, namespaceText)
        case .principals, .notPrincipals:
            guard r.hasPeer else { return false }
            return v & CompiledPolicies.tagMask == CompiledPolicies.exactTag
                ? r.principal >= 0 && v == r.principal : pattern(v, principalText)
        case .serviceAccounts, .notServiceAccounts:
            return r.serviceAccount >= 0 && v == r.serviceAccount
        case .sourceIPs, .notSourceIPs:
            return cidrs[Int(v)].contains(r.source)
        case .destinationIPs, .notDestinationIPs:
            return cidrs[Int(v)].contains(r.destination)
        case .ports, .notPorts:
            return v == r.port
        case nil:
            return false
        }
    }

    /// Prefix, suffix and presence matches, which need the text.
    private func pattern(_ v: Int32, _ text: String) -> Bool {
        switch v & CompiledPolicies.tagMask {
        case CompiledPolicies.prefixTag: return text.hasPrefix(patterns[Int(v & CompiledPolicies.valueMask)])
        case CompiledPolicies.suffixTag: return text.hasSuffix(patterns[Int(v & CompiledPolicies.valueMask)])
        default: return !text.isEmpty
        }
    }
}
