import ZestCore

/// One immutable snapshot of the mesh: workloads, services with their endpoints, and
/// policies, indexed for the lookups a connection needs. Built on the control thread,
/// published whole (see `MeshStateCell`), read by workers without locks.
public final class MeshState: Sendable {
    /// A Service endpoint: a workload and its port map for that Service.
    public struct Endpoint: Sendable, Hashable {
        // Field order keeps the stride at 16 bytes (one per workload per Service).
        public let ports: [UInt16: UInt16]
        public let workload: Int32
        public let status: HealthStatus

        init(workload: Int32, ports: [UInt16: UInt16], status: HealthStatus) {
            self.ports = ports
            self.workload = workload
            self.status = status
        }
    }

    public let workloads: [Workload]
    public let services: [Service]
    public let policies: PolicySet

    private let workloadByUID: [String: Int32]
    /// Workloads by address: most live on the default network (""), keyed by IP alone (a
    /// 24-byte key instead of 40), the rest by network and IP.
    private let workloadByIP: [IPAddress: Int32]
    private let workloadByNetworkAddress: [NetworkAddress: Int32]
    private let servicesByVIP: [NetworkAddress: [Int32]]
    /// CIDR VIPs, longest prefix first.
    private let cidrServices: [(vip: NetworkCIDR, service: Int32)]
    private let serviceByKey: [NamespacedHostname: Int32]
    private let endpointsByService: [[Endpoint]]
    /// Per workload, an index into `targets`: workloads with the same applicable policies
    /// share one target.
    private let targetByWorkload: [Int32]
    private let targets: [AuthorizationTarget]
    private let targetForUnknown: AuthorizationTarget

    /// Builds the indexes. The first workload with a uid wins; when two workloads share an
    /// address, a Pod is preferred over other kinds, then an HBONE workload (as ztunnel does).
    public init(workloads: [Workload] = [], services: [Service] = [], policies: PolicySet = PolicySet()) {
        var byUID: [String: Int32] = [:], byIP: [IPAddress: Int32] = [:], byAddress: [NetworkAddress: Int32] = [:]
        byUID.reserveCapacity(workloads.count)
        byIP.reserveCapacity(workloads.count)
        var kept: [Workload] = []
        kept.reserveCapacity(workloads.count)
        // Replicas of one deployment carry equal labels and service maps: share one copy.
        var labelSets: [[String: String]: [String: String]] = [:]
        var serviceMaps: [[NamespacedHostname: [UInt16: UInt16]]: [NamespacedHostname: [UInt16: UInt16]]] = [:]
        for var w in workloads where byUID[w.uid] == nil {
            let i = Int32(kept.count)
            if let shared = labelSets[w.labels] { w.labels = shared } else { labelSets[w.labels] = w.labels }
            if let shared = serviceMaps[w.services] { w.services = shared } else { serviceMaps[w.services] = w.services }
            kept.append(w)
            byUID[w.uid] = i
            for ip in w.addresses {
                let key = NetworkAddress(network: w.network, ip: ip)
                let other = key.network.isEmpty ? byIP[ip] : byAddress[key]
                if let other, MeshState.rank(kept[Int(other)]) >= MeshState.rank(w) { continue }
                if key.network.isEmpty { byIP[ip] = i } else { byAddress[key] = i }
            }
        }
        var byVIP: [NetworkAddress: [Int32]] = [:], cidrs: [(NetworkCIDR, Int32)] = [], byKey: [NamespacedHostname: Int32] = [:]
        var keptServices: [Service] = []
        for s in services where byKey[s.key] == nil {
            let i = Int32(keptServices.count)
            keptServices.append(s)
            byKey[s.key] = i
            for vip in s.vips { byVIP[vip, default: []].append(i) }
            for c in s.cidrVIPs { cidrs.append((c, i)) }
        }
        cidrs.sort { $0.0.cidr.prefixLength > $1.0.cidr.prefixLength }
        var endpoints = [[Endpoint]](repeating: [], count: keptServices.count)
        for (wi, w) in kept.enumerated() {
            for (key, ports) in w.services {
                guard let si = byKey[key] else { continue }
                endpoints[Int(si)].append(Endpoint(workload: Int32(wi), ports: ports, status: w.status))
            }
        }
        for (si, s) in keptServices.enumerated() {
            for e in s.endpoints {
                guard let wi = byUID[e.workloadUID] else { continue }
                endpoints[si].removeAll { $0.workload == wi }
                endpoints[si].append(Endpoint(workload: wi, ports: e.ports, status: e.status))
            }
        }
        self.workloads = kept
        self.services = keptServices
        self.policies = policies
        self.workloadByUID = byUID
        self.workloadByIP = byIP
        self.workloadByNetworkAddress = byAddress
        self.servicesByVIP = byVIP
        self.cidrServices = cidrs.map { (vip: $0.0, service: $0.1) }
        self.serviceByKey = byKey
        self.endpointsByService = endpoints
        var targetIndex: [[Int32]: Int32] = [:], targets: [AuthorizationTarget] = []
        self.targetByWorkload = kept.map { w in
            let list = policies.applicableIndices(to: w)
            if let i = targetIndex[list] { return i }
            targets.append(AuthorizationTarget(list, policies.policies))
            targetIndex[list] = Int32(targets.count - 1)
            return Int32(targets.count - 1)
        }
        self.targets = targets
        self.targetForUnknown = policies.target(for: nil)
    }

    /// Authorizes `request` against the workload at its destination address on `network`
    /// (see `PolicySet.authorize`), using the applicable-policy lists computed for this
    /// snapshot. A destination that is no known workload gets the mesh-wide policies only.
    public func authorize(_ request: AuthorizationRequest, network: String = "") -> AuthorizationDecision {
        guard let wi = workloadIndex(at: NetworkAddress(network: network, ip: request.destination.ip)) else {
            return policies.authorize(request, workload: nil, target: targetForUnknown)
        }
        // The workload itself is consulted only for PeerAuthentication, which matters only
        // without a peer identity; skipping the copy keeps the identified path cheap.
        return policies.authorize(request, workload: request.peer == nil ? workloads[wi] : nil,
                                  target: targets[Int(targetByWorkload[wi])])
    }

    private static func rank(_ w: Workload) -> Int {
        (w.uid.contains("/Pod/") ? 2 : 0) + (w.tunnelProtocol == .hbone ? 1 : 0)
    }

    public func workload(uid: String) -> Workload? { workloadByUID[uid].map { workloads[Int($0)] } }

    public func workload(at address: NetworkAddress) -> Workload? {
        workloadIndex(at: address).map { workloads[$0] }
    }

    private func workloadIndex(at address: NetworkAddress) -> Int? {
        (address.network.isEmpty ? workloadByIP[address.ip] : workloadByNetworkAddress[address]).map(Int.init)
    }

    public func service(named key: NamespacedHostname) -> Service? { serviceIndex(named: key).map { services[$0] } }

    /// The Service reached by dialing `vip` from a client in `clientNamespace`: exact VIPs
    /// first (client's namespace, then `canonical`, then the first declared), then CIDR VIPs
    /// (client's namespace, then longest prefix, then `canonical`).
    public func service(at vip: NetworkAddress, clientNamespace: String?) -> Service? {
        serviceIndex(at: vip, clientNamespace: clientNamespace).map { services[$0] }
    }

    /// The endpoints of a Service, healthy or not, in declaration order.
    public func endpoints(of service: Service) -> [Endpoint] {
        serviceIndex(named: service.key).map { endpointsByService[$0] } ?? []
    }

    func serviceIndex(named key: NamespacedHostname) -> Int? { serviceByKey[key].map(Int.init) }

    func endpoints(ofServiceAt index: Int) -> [Endpoint] { endpointsByService[index] }

    func serviceIndex(at vip: NetworkAddress, clientNamespace: String?) -> Int? {
        if let candidates = servicesByVIP[vip] {
            if candidates.count == 1 { return Int(candidates[0]) }
            if let ns = clientNamespace, let i = candidates.first(where: { services[Int($0)].namespace == ns }) { return Int(i) }
            if let i = candidates.first(where: { services[Int($0)].canonical }) { return Int(i) }
            return Int(candidates[0])
        }
        var best: (index: Int32, rank: (Int, Int, Int))?
        for (c, i) in cidrServices where c.network == vip.network && c.cidr.contains(vip.ip) {
            let s = services[Int(i)]
            let rank = (s.namespace == clientNamespace ? 1 : 0, c.cidr.prefixLength, s.canonical ? 1 : 0)
            if best == nil || rank > best!.rank { best = (i, rank) }
        }
        return best.map { Int($0.index) }
    }
}
