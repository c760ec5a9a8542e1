import ZestCore
@testable import ZestPolicy

/// Small builders so that test tables read like the policies they describe.
enum Fx {
    static func ip(_ s: String) -> IPAddress { IPAddress(s)! }
    static func cidr(_ s: String) -> CIDR { CIDR(s)! }
    static func id(_ ns: String, _ sa: String, td: String = "cluster.local") -> SpiffeID {
        try! SpiffeID(trustDomain: td, namespace: ns, serviceAccount: sa)
    }
    static func sock(_ s: String) -> SocketAddress { SocketAddress(s)! }

    /// payments-api in namespace payments, 10.0.1.5, labels app=payments-api.
    static let paymentsAPI = Workload(
        uid: "cluster1//v1/Pod/payments/payments-api-0", name: "payments-api-0", namespace: "payments",
        serviceAccount: "payments-api", addresses: [ip("10.0.1.5")], node: "node-a",
        labels: ["app": "payments-api"])

    static func allow(_ name: String, ns: String = "payments", scope: AuthorizationPolicy.Scope = .namespace,
                      selector: [String: String]? = nil, dryRun: Bool = false, _ rules: [PolicyRule]) -> AuthorizationPolicy {
        AuthorizationPolicy(name: name, namespace: ns, scope: scope, action: .allow, rules: rules, dryRun: dryRun,
                            selector: selector)
    }

    static func deny(_ name: String, ns: String = "payments", scope: AuthorizationPolicy.Scope = .namespace,
                     selector: [String: String]? = nil, dryRun: Bool = false, _ rules: [PolicyRule]) -> AuthorizationPolicy {
        AuthorizationPolicy(name: name, namespace: ns, scope: scope, action: .deny, rules: rules, dryRun: dryRun,
                            selector: selector)
    }

    /// A rule of one clause holding one match.
    static func rule(_ m: PolicyMatch) -> PolicyRule { PolicyRule([PolicyClause([m])]) }
    static let matchAll = PolicyRule()
}
