import ZestCore
import ZestPolicy

/// Decodes ztunnel local-config `workloads` entries (camelCase keys, unknown keys rejected),
/// plus Zest's `labels`.
enum LocalWorkloadDecoder {
    static let keys: Set<String> = [
        "uid", "name", "namespace", "serviceAccount", "trustDomain", "workloadIps", "protocol", "node", "network",
        "services", "waypoint", "status", "capacity", "labels", "authorizationPolicies",
        // Accepted for compatibility with ztunnel's format; they do not change L4 decisions here.
        "networkGateway", "networkMode", "workloadName", "workloadType", "canonicalName", "canonicalRevision",
        "hostname", "nativeTunnel", "applicationTunnel", "clusterId", "locality",
    ]

    static func decode(_ v: YAMLValue) throws(ConfigError) -> Workload {
        _ = try v.mapping(allowed: keys)
        let namespace = try v.required("namespace").string()
        let name = try v.optional("name")?.string() ?? ""
        let uid = try v.optional("uid")?.string() ?? "\(namespace)/\(name)"
        var w = Workload(uid: uid, name: name, namespace: namespace, addresses: [])
        if let sa = try v.optional("serviceAccount") { w.serviceAccount = try sa.string() }
        if let td = try v.optional("trustDomain") { w.trustDomain = try td.string() }
        if let ips = try v.optional("workloadIps") { w.addresses = try ips.sequence().map { v throws(ConfigError) in try v.ip() } }
        if let p = try v.optional("protocol") { w.tunnelProtocol = try p.choice(["HBONE": .hbone, "TCP": .tcp]) }
        if let n = try v.optional("node") { w.node = try n.string() }
        if let n = try v.optional("network") { w.network = try n.string() }
        if let s = try v.optional("status") { w.status = try s.choice(["Healthy": .healthy, "Unhealthy": .unhealthy]) }
        if let c = try v.optional("capacity") { w.capacity = try c.uint32() }
        if let l = try v.optional("labels") { w.labels = try l.stringMap() }
        if let p = try v.optional("authorizationPolicies") { w.authorizationPolicies = try p.strings() }
        if let wp = try v.optional("waypoint") { w.waypoint = try decodeWaypoint(wp) }
        if let services = try v.optional("services") {
            for (key, ports) in try services.mapping() {
                guard let name = NamespacedHostname(key) else {
                    throw ports.error("service key must be 'namespace/hostname'")
                }
                w.services[name] = try ports.portMap()
            }
        }
        guard w.identity != nil else {
            throw v.error("namespace '\(w.namespace)', serviceAccount '\(w.serviceAccount)' and trustDomain '\(w.trustDomain)' do not form a valid SPIFFE identity")
        }
        return w
    }

    /// `{destination: "network/ip" | "namespace/hostname", hboneMtlsPort: 15008}`.
    static func decodeWaypoint(_ v: YAMLValue) throws(ConfigError) -> Waypoint {
        _ = try v.mapping(allowed: ["destination", "hboneMtlsPort"])
        let destination = try v.required("destination")
        let text = try destination.string()
        let port = try v.optional("hboneMtlsPort")?.port() ?? 15008
        if let address = NetworkAddress(text) { return Waypoint(.address(address), hbonePort: port) }
        if let host = NamespacedHostname(text) { return Waypoint(.hostname(host), hbonePort: port) }
        throw destination.error("expected 'network/ip' or 'namespace/hostname'")
    }
}
