/// The authorization policies and PeerAuthentications of one mesh snapshot, indexed so that
/// the policies applying to a destination workload are found without scanning them all.
public struct PolicySet: Sendable {
    /// Istio's root namespace (`istio-system` unless configured): policies there are mesh-wide.
    public let rootNamespace: String
    public let policies: [AuthorizationPolicy]
    public let peerAuthentications: [PeerAuthentication]

    /// True when some policy is dry-run, so that evaluation looks for them only then.
    let hasDryRun: Bool
    /// The policies compiled for evaluation (see `CompiledPolicies`).
    let compiled: CompiledPolicies
    private let global: [Int]
    private let byNamespace: [String: [Int]]
    private let byKey: [String: Int]
    private let meshPeerAuthentication: Int?
    private let namespacePeerAuthentication: [String: Int]
    private let selectorPeerAuthentications: [String: [Int]]

    public init(policies: [AuthorizationPolicy] = [], peerAuthentications: [PeerAuthentication] = [],
                rootNamespace: String = "istio-system") {
        self.rootNamespace = rootNamespace
        self.policies = policies
        self.peerAuthentications = peerAuthentications
        var global: [Int] = [], byNamespace: [String: [Int]] = [:], byKey: [String: Int] = [:]
        for (i, p) in policies.enumerated() {
            if p.scope == .global { global.append(i) } else { byNamespace[p.namespace, default: []].append(i) }
            byKey[p.key] = byKey[p.key] ?? i
        }
        var mesh: Int?, namespaceWide: [String: Int] = [:], selected: [String: [Int]] = [:]
        // Istio picks the oldest policy when several compete; file order stands in for age.
        for (i, pa) in peerAuthentications.enumerated() {
            if pa.selector != nil {
                selected[pa.namespace, default: []].append(i)
            } else if pa.namespace == rootNamespace {
                mesh = mesh ?? i
            } else {
                namespaceWide[pa.namespace] = namespaceWide[pa.namespace] ?? i
            }
        }
        self.global = global
        self.hasDryRun = policies.contains { $0.dryRun }
        self.compiled = CompiledPolicies(policies)
        self.byNamespace = byNamespace
        self.byKey = byKey
        self.meshPeerAuthentication = mesh
        self.namespacePeerAuthentication = namespaceWide
        self.selectorPeerAuthentications = selected
    }

    /// The policy with key `namespace/name`, if present.
    public func policy(named key: String) -> AuthorizationPolicy? { byKey[key].map { policies[$0] } }

    /// Indices into `policies` of the policies that apply to `workload` (all global ones
    /// when the destination is not a known workload), in evaluation order: global ones, those
    /// of its namespace, selector policies whose labels match, policies the workload names.
    public func applicableIndices(to workload: Workload?) -> [Int32] {
        var out: [Int32] = []
        for i in global where appliesByScope(policies[i], workload) { out.append(Int32(i)) }
        guard let workload else { return out }
        if let local = byNamespace[workload.namespace] {
            for i in local where appliesByScope(policies[i], workload) { out.append(Int32(i)) }
        }
        for key in workload.authorizationPolicies {
            guard let i = byKey[key], !appliesByScope(policies[i], workload), !out.contains(Int32(i)) else { continue }
            out.append(Int32(i))
        }
        return out
    }

    /// The policies that apply to `workload`, in evaluation order.
    public func applicable(to workload: Workload?) -> [AuthorizationPolicy] {
        applicableIndices(to: workload).map { policies[Int($0)] }
    }

    private func appliesByScope(_ p: AuthorizationPolicy, _ w: Workload?) -> Bool {
        switch p.scope {
        case .global:
            guard let selector = p.selector else { return true }
            return w?.matches(selector: selector) ?? false
        case .namespace:
            return w != nil && p.namespace == w!.namespace
        case .workloadSelector:
            guard let w, p.namespace == w.namespace, let selector = p.selector else { return false }
            return w.matches(selector: selector)
        }
    }

    /// The mTLS mode in force for connections to `workload` on `port`, and the
    /// PeerAuthentication that set it (nil when nothing did: PERMISSIVE by default).
    /// Precedence as in Istio: port-level setting of the workload's selector policy, that
    /// policy's mode, the namespace-wide policy, then the mesh-wide one; UNSET inherits.
    public func mtlsMode(for workload: Workload?, port: UInt16) -> (PeerAuthentication.Mode, PeerAuthentication?) {
        var chain: [Int] = []
        if let workload {
            if let candidates = selectorPeerAuthentications[workload.namespace],
               let i = candidates.first(where: { workload.matches(selector: peerAuthentications[$0].selector ?? [:]) }) {
                chain.append(i)
            }
            if let i = namespacePeerAuthentication[workload.namespace] { chain.append(i) }
        }
        if let mesh = meshPeerAuthentication { chain.append(mesh) }
        for (position, i) in chain.enumerated() {
            let pa = peerAuthentications[i]
            if position == 0, pa.selector != nil, let portMode = pa.portModes[port], portMode != .unset {
                return (portMode, pa)
            }
            if pa.mode != .unset { return (pa.mode, pa) }
        }
        return (.permissive, nil)
    }
}
