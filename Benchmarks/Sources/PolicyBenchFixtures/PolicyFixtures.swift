import ZestCore
import ZestPolicy

/// Mesh shapes for the policy and routing benchmarks, shared by the `Policy` benchmark
/// target (ordo-one/benchmark) and the self-timing `PolicyBench` executable.
public enum PolicyFixtures {
    public static func identity(_ ns: String, _ sa: String) -> SpiffeID {
        try! SpiffeID(trustDomain: "cluster.local", namespace: ns, serviceAccount: sa)
    }

    /// The destination of the authorization benchmarks: payments-api, 10.0.1.5.
    public static let destination = Workload(
        uid: "cluster1//v1/Pod/payments/payments-api-7d9f8-abcde", name: "payments-api-7d9f8-abcde",
        namespace: "payments", serviceAccount: "payments-api", addresses: [IPAddress("10.0.1.5")!],
        node: "node-3", labels: ["app": "payments-api", "version": "v1"])

    /// orders-api calling payments-api:8080 over HBONE.
    public static let request = AuthorizationRequest(
        peer: identity("orders", "orders-api"), source: IPAddress("10.0.2.7")!,
        destination: SocketAddress(ip: IPAddress("10.0.1.5")!, port: 8080))

    /// ztunnel's RBAC benchmark shape: 10,000 DENY policies of 10 rules, none matching, so
    /// every rule of every policy is evaluated before the connection is allowed.
    public static func denyHeavy(policies: Int = 10_000, rules: Int = 10) -> MeshState {
        let set = (0..<policies).map { i in
            AuthorizationPolicy(name: "deny-\(i)", namespace: "payments", scope: .namespace, action: .deny,
                                rules: (0..<rules).map { r in
                                    PolicyRule([PolicyClause([PolicyMatch(namespaces: [.exact("ns-\(i)-\(r)")],
                                                                          destinationPorts: [UInt16(1000 + r)])])])
                                })
        }
        return MeshState(workloads: [destination], policies: PolicySet(policies: set))
    }

    /// A namespace of 50 policies as teams write them: one ALLOW per client workload with a
    /// selector (two select payments-api), a namespace-wide DENY for SSH and a namespace-wide
    /// ALLOW for orders-api, which is the one that decides, evaluated last.
    public static func realisticNamespace() -> MeshState {
        var ps: [AuthorizationPolicy] = (0..<48).map { i in
            AuthorizationPolicy(name: "allow-client-\(i)", namespace: "payments", scope: .workloadSelector, action: .allow,
                                rules: [PolicyRule([PolicyClause([PolicyMatch(principals: [.exact("cluster.local/ns/client-\(i)/sa/sa-\(i)")])]),
                                                    PolicyClause([PolicyMatch(destinationPorts: [8080, 9090])])])],
                                selector: ["app": i < 2 ? "payments-api" : "service-\(i)"])
        }
        ps.append(AuthorizationPolicy(name: "deny-ssh", namespace: "payments", scope: .namespace, action: .deny,
                                      rules: [PolicyRule([PolicyClause([PolicyMatch(destinationPorts: [22])])])]))
        ps.append(AuthorizationPolicy(name: "allow-orders", namespace: "payments", scope: .namespace, action: .allow,
                                      rules: [PolicyRule([PolicyClause([PolicyMatch(principals: [.exact("cluster.local/ns/orders/sa/orders-api")])])])]))
        return MeshState(workloads: [destination], policies: PolicySet(policies: ps))
    }

    /// Worst case of the same size: all 50 ALLOW policies apply to payments-api and the last
    /// one decides.
    public static func fiftyApplying() -> MeshState {
        var ps: [AuthorizationPolicy] = (0..<49).map { i in
            AuthorizationPolicy(name: "allow-client-\(i)", namespace: "payments", scope: .namespace, action: .allow,
                                rules: [PolicyRule([PolicyClause([PolicyMatch(principals: [.exact("cluster.local/ns/client-\(i)/sa/sa-\(i)")])]),
                                                    PolicyClause([PolicyMatch(destinationPorts: [8080, 9090])])])])
        }
        ps.append(AuthorizationPolicy(name: "allow-orders", namespace: "payments", scope: .namespace, action: .allow,
                                      rules: [PolicyRule([PolicyClause([PolicyMatch(principals: [.exact("cluster.local/ns/orders/sa/orders-api")])])])]))
        return MeshState(workloads: [destination], policies: PolicySet(policies: ps))
    }

    /// `count` pods as Kubernetes names them, spread over 100 namespaces and 100 nodes, each
    /// with two labels, one IPv4 address and membership of one of `services` Services.
    public static func workloads(_ count: Int, services: Int) -> [Workload] {
        (0..<count).map { i in
            let ns = "ns-\(i % 100)", app = "app-\(i % services)"
            return Workload(uid: "cluster1//v1/Pod/\(ns)/\(app)-7d9f8-\(i)", name: "\(app)-7d9f8-\(i)", namespace: ns,
                            serviceAccount: app, addresses: [.v4(0x0A00_0000 + UInt32(i))], node: "node-\(i % 100)",
                            services: [NamespacedHostname(namespace: ns, hostname: "\(app).\(ns).svc.cluster.local"): [80: 8080]],
                            labels: ["app": app, "version": "v1"])
        }
    }

    /// Services matching `workloads(_:services:)`: VIP 10.96.x.y, port 80 → 8080.
    public static func services(_ count: Int) -> [Service] {
        (0..<count).map { i in
            let ns = "ns-\(i % 100)", app = "app-\(i)"
            return Service(name: app, namespace: ns, hostname: "\(app).\(ns).svc.cluster.local",
                           vips: [NetworkAddress(ip: .v4(0x0A60_0000 + UInt32(i)))], ports: [80: 8080])
        }
    }

    /// The VIP of service `i`.
    public static func vip(_ i: Int) -> SocketAddress { SocketAddress(ip: .v4(0x0A60_0000 + UInt32(i)), port: 80) }
}
