import ZestCore

/// An HBONE hop: where to dial, what to put in `:authority`, and which identities the next
/// hop's certificate may present.
public struct HBONERoute: Hashable, Sendable {
    /// `podIP:15008`, or the waypoint's address and HBONE port.
    public var dial: SocketAddress
    /// `podIP:targetPort` for a direct hop; the address the application dialed (VIP:port or
    /// podIP:port) when going through a waypoint.
    public var authority: SocketAddress
    /// The peer certificate must carry one of these as a URI SAN.
    public var expectedIdentities: [SpiffeID]
    /// True when `dial` is a waypoint rather than the destination itself.
    public var viaWaypoint: Bool
    /// The Service the application addressed, if it dialed a VIP (for `forwarded: host=`).
    public var service: NamespacedHostname?
    /// The workload that will answer on `dial` (the destination pod or the waypoint).
    public var nextHopUID: String

    public init(dial: SocketAddress, authority: SocketAddress, expectedIdentities: [SpiffeID], viaWaypoint: Bool,
                service: NamespacedHostname?, nextHopUID: String) {
        self.dial = dial
        self.authority = authority
        self.expectedIdentities = expectedIdentities
        self.viaWaypoint = viaWaypoint
        self.service = service
        self.nextHopUID = nextHopUID
    }
}

/// Why no route exists; the text tells an operator what to look at.
public enum RouteFailure: Error, Hashable, Sendable, CustomStringConvertible {
    case servicePortNotDeclared(NamespacedHostname, port: UInt16)
    case noHealthyEndpoint(NamespacedHostname, port: UInt16)
    case waypointNotFound(Waypoint)
    case noHealthyWaypointEndpoint(Waypoint)
    case otherNetwork(workloadUID: String, network: String)

    public var description: String {
        switch self {
        case .servicePortNotDeclared(let s, let p):
            return "service \(s) does not declare port \(p); add it to the Service's ports"
        case .noHealthyEndpoint(let s, let p):
            return "service \(s) has no healthy endpoint for port \(p) in this IP family; check the pods' readiness"
        case .waypointNotFound(let w):
            return "waypoint \(w) is not a known workload or service; is the waypoint deployed?"
        case .noHealthyWaypointEndpoint(let w):
            return "waypoint \(w) has no healthy endpoint; check the waypoint deployment"
        case .otherNetwork(let uid, let network):
            return "workload \(uid) is on network '\(network)'; cross-network (double HBONE) routing is not supported"
        }
    }
}

/// Where an outbound connection goes, decided by `MeshState.route`.
public enum RouteDecision: Hashable, Sendable, CustomStringConvertible {
    /// Tunnel over HBONE.
    case hbone(HBONERoute)
    /// Plain TCP to a workload that is not in the mesh (protocol TCP), at its target address.
    case tcp(SocketAddress, workloadUID: String)
    /// Plain TCP to exactly what the application dialed: unknown destinations and
    /// passthrough Services.
    case passthrough(SocketAddress)
    case failure(RouteFailure)

    public var description: String {
        switch self {
        case .hbone(let r):
            let via = r.viaWaypoint ? " via waypoint" : ""
            return "HBONE\(via) to \(r.dial) authority \(r.authority) expecting \(r.expectedIdentities.map(\.uri).joined(separator: ","))"
        case .tcp(let a, let uid): return "TCP to \(a) (\(uid))"
        case .passthrough(let a): return "passthrough to \(a)"
        case .failure(let f): return "failure: \(f)"
        }
    }
}
