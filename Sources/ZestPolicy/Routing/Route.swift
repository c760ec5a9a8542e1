import ZestCore

extension MeshState {
    /// Decides where a connection from `source` to `destination` (the address the
    /// application dialed) goes. Pure: the only input besides the snapshot is `rng`, used for
    /// the capacity-weighted endpoint choice.
    ///
    /// - A Service VIP with a waypoint (and the source is not that waypoint): HBONE to the
    ///   waypoint, authority = VIP:port.
    /// - A passthrough Service: plain TCP to the VIP.
    /// - Another Service VIP: a healthy endpoint of the same IP family, weighted by capacity;
    ///   HBONE to `ip:15008` with authority `ip:targetPort` (TCP for non-mesh workloads).
    ///   The endpoint's own workload waypoint is not used (traffic addressed a Service).
    /// - A pod IP whose workload has a waypoint (and the source is not that waypoint): HBONE
    ///   to the waypoint, authority = podIP:port.
    /// - A pod IP: HBONE to `podIP:15008` (TCP for non-mesh workloads).
    /// - Anything else: passthrough.
    public func route<R: RandomNumberGenerator>(from source: Workload, to destination: SocketAddress,
                                                using rng: inout R) -> RouteDecision {
        let address = NetworkAddress(network: source.network, ip: destination.ip)
        if let si = serviceIndex(at: address, clientNamespace: source.namespace) {
            return routeToService(si, from: source, destination: destination, using: &rng)
        }
        guard let target = workload(at: address) else { return .passthrough(destination) }
        if let waypoint = target.waypoint, !isWaypoint(waypoint, source) {
            return viaWaypoint(waypoint, authority: destination, service: nil, using: &rng)
        }
        return direct(to: target, address: destination, service: nil, extraIdentities: [])
    }

    /// `route(from:to:using:)` with the system random source.
    public func route(from source: Workload, to destination: SocketAddress) -> RouteDecision {
        var rng = SystemRandomNumberGenerator()
        return route(from: source, to: destination, using: &rng)
    }

    private func routeToService<R: RandomNumberGenerator>(_ si: Int, from source: Workload, destination: SocketAddress,
                                                          using rng: inout R) -> RouteDecision {
        let service = services[si]
        if let waypoint = service.waypoint, !isWaypoint(waypoint, source) {
            return viaWaypoint(waypoint, authority: destination, service: service.key, using: &rng)
        }
        if service.loadBalancing == .passthrough { return .passthrough(destination) }
        guard let servicePort = service.ports[destination.port] else {
            return .failure(.servicePortNotDeclared(service.key, port: destination.port))
        }
        let family = destination.ip.isIPv4
        let pick = pickEndpoint(of: si, family: family, network: source.network, using: &rng) { ep in
            let port = ep.ports[destination.port] ?? servicePort
            return port == 0 ? (servicePort == 0 ? nil : servicePort) : port
        }
        switch pick {
        case .none(let otherNetworkUID):
            if let uid = otherNetworkUID, let w = workload(uid: uid) {
                return .failure(.otherNetwork(workloadUID: uid, network: w.network))
            }
            return .failure(.noHealthyEndpoint(service.key, port: destination.port))
        case .picked(let w, let ip, let port):
            return direct(to: workloads[w], address: SocketAddress(ip: ip, port: port), service: service.key,
                          extraIdentities: service.subjectAltNames)
        }
    }

    private func direct(to target: Workload, address: SocketAddress, service: NamespacedHostname?,
                        extraIdentities: [SpiffeID]) -> RouteDecision {
        if target.tunnelProtocol == .tcp { return .tcp(address, workloadUID: target.uid) }
        var identities: [SpiffeID] = []
        if let id = target.identity { identities.append(id) }
        for id in extraIdentities where !identities.contains(id) { identities.append(id) }
        return .hbone(HBONERoute(dial: SocketAddress(ip: address.ip, port: 15008), authority: address,
                                 expectedIdentities: identities, viaWaypoint: false, service: service,
                                 nextHopUID: target.uid))
    }

    private func viaWaypoint<R: RandomNumberGenerator>(_ waypoint: Waypoint, authority: SocketAddress,
                                                       service: NamespacedHostname?, using rng: inout R) -> RouteDecision {
        switch waypoint.destination {
        case .address(let a):
            guard let w = workload(at: a), let id = w.identity else { return .failure(.waypointNotFound(waypoint)) }
            return .hbone(HBONERoute(dial: SocketAddress(ip: a.ip, port: waypoint.hbonePort), authority: authority,
                                     expectedIdentities: [id], viaWaypoint: true, service: service, nextHopUID: w.uid))
        case .hostname(let h):
            guard let si = serviceIndex(named: h) else { return .failure(.waypointNotFound(waypoint)) }
            let pick = pickEndpoint(of: si, family: authority.ip.isIPv4, network: nil, using: &rng) { _ in waypoint.hbonePort }
            guard case .picked(let wi, let ip, _) = pick, let id = workloads[wi].identity else {
                return .failure(.noHealthyWaypointEndpoint(waypoint))
            }
            var identities = [id]
            for san in services[si].subjectAltNames where !identities.contains(san) { identities.append(san) }
            return .hbone(HBONERoute(dial: SocketAddress(ip: ip, port: waypoint.hbonePort), authority: authority,
                                     expectedIdentities: identities, viaWaypoint: true, service: service,
                                     nextHopUID: workloads[wi].uid))
        }
    }

    /// True when `source` is the waypoint itself, so its traffic must not loop back into it.
    private func isWaypoint(_ waypoint: Waypoint, _ source: Workload) -> Bool {
        switch waypoint.destination {
        case .address(let a): return source.network == a.network && source.addresses.contains(a.ip)
        case .hostname(let h): return source.services[h] != nil
        }
    }
}
