import ZestCore
@testable import ZestPolicy

/// The mesh the routing table runs against (ztunnel's outbound tests use the same kinds of
/// destinations): pods, Services, waypoints by address and by hostname.
enum RouteMesh {
    static func svc(_ name: String, ns: String = "payments") -> NamespacedHostname {
        NamespacedHostname(namespace: ns, hostname: "\(name).\(ns).svc.cluster.local")
    }
    static func vip(_ ip: String) -> NetworkAddress { NetworkAddress(ip: Fx.ip(ip)) }

    static let waypointAddress = Waypoint(.address(vip("10.0.5.1")))
    static let waypointHost = Waypoint(.hostname(svc("waypoint")))

    static let client = Workload(uid: "c//v1/Pod/shop/client", name: "client", namespace: "shop", serviceAccount: "client",
                                 addresses: [Fx.ip("10.0.0.10")])
    static let waypoint = Workload(uid: "c//v1/Pod/payments/waypoint", name: "waypoint", namespace: "payments",
                                   serviceAccount: "waypoint", addresses: [Fx.ip("10.0.5.1")],
                                   services: [svc("waypoint"): [15008: 15008]])

    static let workloads: [Workload] = [
        client, waypoint,
        Workload(uid: "c//v1/Pod/payments/api-1", name: "api-1", namespace: "payments", serviceAccount: "payments-api",
                 addresses: [Fx.ip("10.0.1.5")],
                 services: [svc("payments-api"): [80: 8080], svc("with-waypoint"): [80: 8080], svc("named"): [80: 9090],
                            svc("cidr"): [80: 8080], svc("shop-dup", ns: "payments"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/api-2", name: "api-2", namespace: "payments", serviceAccount: "payments-api",
                 addresses: [Fx.ip("10.0.1.6")], status: .unhealthy,
                 services: [svc("unhealthy-only"): [80: 8080], svc("allow-all-health"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/legacy", name: "legacy", namespace: "payments", serviceAccount: "legacy",
                 addresses: [Fx.ip("10.0.1.7")], tunnelProtocol: .tcp, services: [svc("legacy"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/wl-wp", name: "wl-wp", namespace: "payments", serviceAccount: "wl",
                 addresses: [Fx.ip("10.0.1.8")], waypoint: waypointAddress, services: [svc("to-wl-wp"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/dual", name: "dual", namespace: "payments", serviceAccount: "dual",
                 addresses: [Fx.ip("10.0.1.9"), Fx.ip("fd00:1::9")], services: [svc("dual"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/v6only", name: "v6only", namespace: "payments", serviceAccount: "v6",
                 addresses: [Fx.ip("fd00:1::10")], services: [svc("v6-backend"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/shop/shop-backend", name: "shop-backend", namespace: "shop", serviceAccount: "shop",
                 addresses: [Fx.ip("10.0.3.1")], services: [svc("shop-dup", ns: "shop"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/remote", name: "remote", namespace: "payments", serviceAccount: "remote",
                 addresses: [Fx.ip("10.0.9.9")], network: "net2", services: [svc("remote-only"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/w-light", name: "w-light", namespace: "payments", serviceAccount: "w",
                 addresses: [Fx.ip("10.0.7.1")], capacity: 1, services: [svc("weighted"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/w-heavy", name: "w-heavy", namespace: "payments", serviceAccount: "w",
                 addresses: [Fx.ip("10.0.7.2")], capacity: 3, services: [svc("weighted"): [80: 8080]]),
        Workload(uid: "c//v1/Pod/payments/w-drained", name: "w-drained", namespace: "payments", serviceAccount: "w",
                 addresses: [Fx.ip("10.0.7.3")], capacity: 0, services: [svc("weighted"): [80: 8080]]),
    ]

    static func service(_ name: String, ns: String = "payments", vips: [String] = [], cidr: [String] = [],
                        ports: [UInt16: UInt16] = [80: 8080], sans: [SpiffeID] = [], waypoint: Waypoint? = nil,
                        lb: Service.LoadBalancing = .standard, health: Service.HealthPolicy = .onlyHealthy) -> Service {
        Service(name: name, namespace: ns, hostname: "\(name).\(ns).svc.cluster.local", vips: vips.map(vip),
                cidrVIPs: cidr.map { NetworkCIDR(cidr: Fx.cidr($0)) }, ports: ports, subjectAltNames: sans,
                waypoint: waypoint, loadBalancing: lb, healthPolicy: health)
    }

    static let services: [Service] = [
        service("payments-api", vips: ["10.96.0.10"], sans: [Fx.id("payments", "payments-legacy-sa")]),
        service("empty", vips: ["10.96.0.11"]),
        service("legacy", vips: ["10.96.0.12"]),
        service("with-waypoint", vips: ["10.96.0.13"], waypoint: waypointAddress),
        service("passthrough", vips: ["10.96.0.14"], lb: .passthrough),
        service("named", vips: ["10.96.0.15"], ports: [80: 0]),
        service("dual", vips: ["10.96.0.16", "fd00:96::16"]),
        service("v6-backend", vips: ["10.96.0.17"]),
        service("cidr", cidr: ["10.200.0.0/16"]),
        service("shop-dup", ns: "payments", vips: ["10.96.0.20"]),
        service("shop-dup", ns: "shop", vips: ["10.96.0.20"]),
        service("unhealthy-only", vips: ["10.96.0.21"]),
        service("allow-all-health", vips: ["10.96.0.22"], health: .allowAll),
        service("to-wl-wp", vips: ["10.96.0.23"]),
        service("waypoint", vips: ["10.96.0.50"], ports: [15008: 15008], sans: [Fx.id("payments", "waypoint-alt")]),
        service("host-waypoint", vips: ["10.96.0.24"], waypoint: waypointHost),
        service("missing-waypoint", vips: ["10.96.0.25"], waypoint: Waypoint(.address(vip("10.0.5.99")))),
        service("remote-only", vips: ["10.96.0.26"]),
        service("weighted", vips: ["10.96.0.27"]),
    ]

    static let state = MeshState(workloads: workloads, services: services)
}
