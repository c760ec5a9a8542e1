import ZestCore
import ZestPolicy

/// The mesh of the waypoint tests: pod B behind Service `svc-b` (VIP `vip`, port 80 → 8080)
/// whose waypoint is the workload `waypoint` at `waypointIP`, and a policy at pod B that
/// admits only the waypoint's identity.
enum WaypointMesh {
    static let hostname = "svc-b.ns-b.svc.cluster.local"

    static func state(_ t: MeshTopology, waypointIP: IPAddress, waypointID: SpiffeID,
                      vip: IPAddress) -> (state: MeshState, waypoint: Workload) {
        let serviceKey = NamespacedHostname(namespace: "ns-b", hostname: hostname)
        var workloadB = t.workloadB
        workloadB.services = [serviceKey: [80: 8080]]
        let waypoint = Workload(uid: "cluster//Pod/ns-b/waypoint", name: "waypoint", namespace: "ns-b",
                                serviceAccount: "waypoint", addresses: [waypointIP])
        let service = Service(name: "svc-b", namespace: "ns-b", hostname: hostname,
                              vips: [NetworkAddress(ip: vip)], ports: [80: 8080],
                              waypoint: Waypoint(.address(NetworkAddress(ip: waypointIP))))
        let onlyWaypoint = AuthorizationPolicy(name: "only-waypoint", namespace: "ns-b", action: .allow, rules: [
            PolicyRule([PolicyClause([PolicyMatch(principals: [StringMatch(istioPattern: waypointID.principal)])])]),
        ])
        let state = MeshState(workloads: [t.workloadA, workloadB, waypoint], services: [service],
                              policies: PolicySet(policies: [onlyWaypoint]))
        return (state, waypoint)
    }
}
