import ZestCore

/// A Service (Kubernetes Service or ServiceEntry) as ztunnel knows it: VIPs, port map,
/// extra identities its endpoints may present, and an optional waypoint.
public struct Service: Hashable, Sendable {
    public enum LoadBalancing: String, Hashable, Sendable {
        /// Pick an endpoint (healthy, weighted by capacity).
        case standard = "Standard"
        /// Send to the address the application dialed, without endpoint selection.
        case passthrough = "Passthrough"
    }

    public enum HealthPolicy: String, Hashable, Sendable {
        case onlyHealthy = "OnlyHealthy"
        case allowAll = "AllowAll"
    }

    public enum IPFamilies: String, Hashable, Sendable {
        case dual = "Dual"
        case ipv4Only = "IPv4"
        case ipv6Only = "IPv6"
    }

    /// An endpoint declared on the Service itself rather than through a workload's
    /// `services` map (ztunnel's `endpoints`).
    public struct Endpoint: Hashable, Sendable {
        public var workloadUID: String
        public var ports: [UInt16: UInt16]
        public var status: HealthStatus

        public init(workloadUID: String, ports: [UInt16: UInt16] = [:], status: HealthStatus = .healthy) {
            self.workloadUID = workloadUID
            self.ports = ports
            self.status = status
        }
    }

    public var name: String
    public var namespace: String
    public var hostname: String
    public var vips: [NetworkAddress]
    public var cidrVIPs: [NetworkCIDR]
    /// service port → target port; a target port of 0 means "the endpoint says" (named ports).
    public var ports: [UInt16: UInt16]
    public var subjectAltNames: [SpiffeID]
    public var waypoint: Waypoint?
    public var loadBalancing: LoadBalancing
    public var healthPolicy: HealthPolicy
    public var ipFamilies: IPFamilies?
    public var canonical: Bool
    public var endpoints: [Endpoint]

    public init(name: String, namespace: String, hostname: String, vips: [NetworkAddress] = [],
                cidrVIPs: [NetworkCIDR] = [], ports: [UInt16: UInt16] = [:], subjectAltNames: [SpiffeID] = [],
                waypoint: Waypoint? = nil, loadBalancing: LoadBalancing = .standard,
                healthPolicy: HealthPolicy = .onlyHealthy, ipFamilies: IPFamilies? = nil,
                canonical: Bool = false, endpoints: [Endpoint] = []) {
        self.name = name
        self.namespace = namespace
        self.hostname = hostname
        self.vips = vips
        self.cidrVIPs = cidrVIPs
        self.ports = ports
        self.subjectAltNames = subjectAltNames
        self.waypoint = waypoint
        self.loadBalancing = loadBalancing
        self.healthPolicy = healthPolicy
        self.ipFamilies = ipFamilies
        self.canonical = canonical
        self.endpoints = endpoints
    }

    public var key: NamespacedHostname { NamespacedHostname(namespace: namespace, hostname: hostname) }
}
