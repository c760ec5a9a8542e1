import ZestCore
import ZestPolicy

/// Decodes ztunnel local-config `services` entries.
enum LocalServiceDecoder {
    static let keys: Set<String> = [
        "name", "namespace", "hostname", "vips", "cidrVips", "ports", "subjectAltNames", "waypoint", "endpoints",
        "loadBalancer", "ipFamilies", "canonical", "visibility",
    ]

    static func decode(_ v: YAMLValue) throws(ConfigError) -> Service {
        _ = try v.mapping(allowed: keys)
        var s = Service(name: try v.required("name").string(), namespace: try v.required("namespace").string(),
                        hostname: try v.required("hostname").string())
        for vip in try v.optional("vips")?.sequence() ?? [] {
            let text = try vip.string()
            if let a = NetworkAddress(text) {
                s.vips.append(a)
            } else if let c = NetworkCIDR(text) {
                s.cidrVIPs.append(c)
            } else {
                throw vip.error("expected 'network/ip' (the network may be empty: '/10.96.0.1')")
            }
        }
        for vip in try v.optional("cidrVips")?.sequence() ?? [] {
            guard let c = NetworkCIDR(try vip.string()) else { throw vip.error("expected 'network/ip/length'") }
            s.cidrVIPs.append(c)
        }
        if let ports = try v.optional("ports") { s.ports = try ports.portMap() }
        for san in try v.optional("subjectAltNames")?.sequence() ?? [] {
            let text = try san.string()
            do {
                s.subjectAltNames.append(try SpiffeID.parse(text))
            } catch {
                throw san.error("'\(text)' is not a SPIFFE identity: \(error)")
            }
        }
        if let wp = try v.optional("waypoint") { s.waypoint = try LocalWorkloadDecoder.decodeWaypoint(wp) }
        if let c = try v.optional("canonical") { s.canonical = try c.bool() }
        if let f = try v.optional("ipFamilies") { s.ipFamilies = try f.choice(["Dual": .dual, "IPv4": .ipv4Only, "IPv6": .ipv6Only]) }
        if let lb = try v.optional("loadBalancer") {
            _ = try lb.mapping(allowed: ["mode", "healthPolicy", "routingPreferences"])
            if let m = try lb.optional("mode") {
                s.loadBalancing = try m.choice(["Standard": .standard, "Strict": .standard, "Failover": .standard,
                                                "Passthrough": .passthrough])
            }
            if let h = try lb.optional("healthPolicy") {
                s.healthPolicy = try h.choice(["OnlyHealthy": .onlyHealthy, "AllowAll": .allowAll])
            }
        }
        if let eps = try v.optional("endpoints") {
            for (uid, ep) in try eps.mapping() {
                _ = try ep.mapping(allowed: ["workloadUid", "port", "status"])
                var e = Service.Endpoint(workloadUID: try ep.optional("workloadUid")?.string() ?? uid)
                if let p = try ep.optional("port") { e.ports = try p.portMap() }
                if let st = try ep.optional("status") { e.status = try st.choice(["Healthy": .healthy, "Unhealthy": .unhealthy]) }
                s.endpoints.append(e)
            }
        }
        return s
    }
}
