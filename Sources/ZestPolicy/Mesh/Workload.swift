import ZestCore

/// How a workload accepts mesh traffic: HBONE on port 15008, or plain TCP (not in the mesh).
public enum TunnelProtocol: String, Sendable, Hashable {
    case hbone = "HBONE"
    case tcp = "TCP"
}

/// Whether a workload may receive load-balanced traffic.
public enum HealthStatus: String, Sendable, Hashable {
    case healthy = "Healthy"
    case unhealthy = "Unhealthy"
}

/// Where a waypoint proxy is reached: a workload address or a Service hostname, plus the
/// port on which it accepts HBONE (15008 unless said otherwise).
public struct Waypoint: Hashable, Sendable, CustomStringConvertible {
    public enum Destination: Hashable, Sendable {
        case address(NetworkAddress)
        case hostname(NamespacedHostname)
    }

    public var destination: Destination
    public var hbonePort: UInt16

    public init(_ destination: Destination, hbonePort: UInt16 = 15008) {
        self.destination = destination
        self.hbonePort = hbonePort
    }

    public var description: String {
        switch destination {
        case .address(let a): return "\(a):\(hbonePort)"
        case .hostname(let h): return "\(h):\(hbonePort)"
        }
    }
}

/// A pod or VM as the mesh knows it (ztunnel's `Workload`), plus the pod's labels so that
/// AuthorizationPolicy selectors can be matched locally.
public struct Workload: Hashable, Sendable {
    public var uid: String
    public var name: String
    public var namespace: String
    public var serviceAccount: String
    public var addresses: [IPAddress]
    public var node: String
    public var tunnelProtocol: TunnelProtocol
    public var status: HealthStatus
    /// Relative weight in load balancing (ztunnel's `capacity`, default 1; 0 receives nothing).
    public var capacity: UInt32
    /// The Services this workload backs: service port → target port (0 = the Service's own
    /// target port).
    public var services: [NamespacedHostname: [UInt16: UInt16]]
    public var labels: [String: String]

    /// Fields most workloads leave at their defaults, kept out of line so that the common
    /// workload is 72 bytes smaller (the store holds 100,000s); nil when all are defaults.
    private var rare: RareBox?

    public var trustDomain: String {
        get { rare?.fields.trustDomain ?? "cluster.local" }
        set { updateRare { $0.trustDomain = newValue } }
    }
    public var network: String {
        get { rare?.fields.network ?? "" }
        set { updateRare { $0.network = newValue } }
    }
    public var waypoint: Waypoint? {
        get { rare?.fields.waypoint }
        set { updateRare { $0.waypoint = newValue } }
    }
    /// Policies bound to this workload by name (`namespace/name`), as istiod sends them.
    public var authorizationPolicies: [String] {
        get { rare?.fields.authorizationPolicies ?? [] }
        set { updateRare { $0.authorizationPolicies = newValue } }
    }

    public init(uid: String, name: String, namespace: String, serviceAccount: String = "default",
                trustDomain: String = "cluster.local", addresses: [IPAddress], network: String = "",
                node: String = "", tunnelProtocol: TunnelProtocol = .hbone, status: HealthStatus = .healthy,
                capacity: UInt32 = 1, waypoint: Waypoint? = nil,
                services: [NamespacedHostname: [UInt16: UInt16]] = [:], labels: [String: String] = [:],
                authorizationPolicies: [String] = []) {
        self.uid = uid
        self.name = name
        self.namespace = namespace
        self.serviceAccount = serviceAccount
        self.addresses = addresses
        self.node = node
        self.tunnelProtocol = tunnelProtocol
        self.status = status
        self.capacity = capacity
        self.services = services
        self.labels = labels
        let fields = RareFields(trustDomain: trustDomain, network: network, waypoint: waypoint,
                                authorizationPolicies: authorizationPolicies)
        self.rare = fields == RareFields() ? nil : RareBox(fields)
    }

    private mutating func updateRare(_ change: (inout RareFields) -> Void) {
        var fields = rare?.fields ?? RareFields()
        change(&fields)
        rare = fields == RareFields() ? nil : RareBox(fields)
    }

    /// The workload's SPIFFE identity, or nil when its names are not valid SPIFFE segments
    /// (the loaders reject such workloads, so nil means a hand-built value).
    public var identity: SpiffeID? {
        try? SpiffeID(trustDomain: trustDomain, namespace: namespace, serviceAccount: serviceAccount)
    }

    /// True when every `key: value` of `selector` is among this workload's labels.
    public func matches(selector: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// The out-of-line part of a `Workload`.
struct RareFields: Hashable, Sendable {
    var trustDomain = "cluster.local"
    var network = ""
    var waypoint: Waypoint?
    var authorizationPolicies: [String] = []
}

/// Immutable, shared box for `RareFields`; setters on `Workload` replace it.
final class RareBox: Hashable, Sendable {
    let fields: RareFields
    init(_ fields: RareFields) { self.fields = fields }
    static func == (a: RareBox, b: RareBox) -> Bool { a === b || a.fields == b.fields }
    func hash(into h: inout Hasher) { h.combine(fields) }
}
