import Testing
import ZestCore
import ZestControl
import ZestPolicy

/// The files from ../shared/examples load and behave as their comments say.
@Suite struct ExamplesTests {
    let orders = "spiffe://cluster.local/ns/orders/sa/orders-api"

    func paymentsState() throws -> (MeshState, LoadedConfig) {
        let config = try Fixture.load("payments-mesh.yaml", "payments-policies.yaml")
        return (config.makeState(rootNamespace: "istio-system"), config)
    }

    @Test func plaintextIntoPaymentsIsRefusedByStrict() throws {
        let (state, _) = try paymentsState()
        let d = state.check(from: nil, fromIP: "10.0.2.7", to: "10.0.1.5:8080")
        #expect(!d.allowed)
        #expect(d.reason == .strictMTLS(PolicyReference(.peerAuthentication, namespace: "payments", name: "payments-mtls")))
    }

    @Test func ordersAPIMayCallPaymentsAPIOnItsL4Port() throws {
        let (state, _) = try paymentsState()
        let d = state.check(from: orders, fromIP: "10.0.2.7", to: "10.0.1.5:8080")
        #expect(d.allowed, "\(d)")
        #expect(d.reason == .allowedBy(PolicyReference(.authorizationPolicy, namespace: "payments", name: "payments-api-l4"), rule: 0))
    }

    @Test func theHTTPRuleAllowsNothingAtL4() throws {
        let (state, config) = try paymentsState()
        // On another port only the L7 rule could have allowed it; at L4 it allows nothing.
        let d = state.check(from: orders, fromIP: "10.0.2.7", to: "10.0.1.5:9090")
        #expect(!d.allowed)
        guard case .noAllowMatched(let names) = d.reason else { Issue.record("\(d)"); return }
        #expect(names.map(\.name).contains("allow-orders-to-payments"))
        #expect(config.policies.first { $0.name == "allow-orders-to-payments" }?.rules.isEmpty == true)
        let warning = config.warnings.first { $0.policy == "payments/allow-orders-to-payments" }
        #expect(warning?.message.contains("methods") == true && warning?.message.contains("paths") == true, "\(config.warnings)")
        #expect(warning?.file.hasSuffix("payments-policies.yaml") == true)
    }

    @Test func denyAllMeansNothingElseMayCallPayments() throws {
        let (state, _) = try paymentsState()
        // payments-db is not selected by any ALLOW rule; deny-all (spec: {}) applies to it.
        let db = state.check(from: orders, fromIP: "10.0.2.7", to: "10.0.1.9:5432")
        #expect(!db.allowed)
        let web = state.check(from: "spiffe://cluster.local/ns/shop/sa/web", fromIP: "10.0.3.3", to: "10.0.1.5:8080")
        #expect(!web.allowed)
    }

    @Test func otherNamespacesAreUntouchedByPaymentsPolicies() throws {
        let (state, _) = try paymentsState()
        let d = state.check(from: nil, fromIP: "10.0.1.5", to: "10.0.3.3:8080")
        #expect(d.allowed, "\(d)")
    }

    @Test func meshWideStrictRefusesPlaintextEverywhere() throws {
        let config = try Fixture.load("payments-mesh.yaml", "mesh-wide-strict.yaml")
        let state = config.makeState(rootNamespace: "istio-system")
        let d = state.check(from: nil, fromIP: "10.0.1.5", to: "10.0.3.3:8080")
        #expect(d.reason == .strictMTLS(PolicyReference(.peerAuthentication, namespace: "istio-system", name: "cluster-mtls-strict")))
        #expect(state.check(from: orders, fromIP: "10.0.2.7", to: "10.0.3.3:8080").allowed)
    }

    @Test func ztunnelLocalConfigLoadsAndEnforcesItsPolicy() throws {
        let config = try Fixture.load("ztunnel-localhost.yaml")
        #expect(config.workloads.count == 2 && config.services.count == 2 && config.policies.count == 1)
        let state = config.makeState(rootNamespace: "istio-system")
        let local = try #require(state.workload(uid: "cluster1//v1/Pod/default/local"))
        #expect(local.services[NamespacedHostname(namespace: "default", hostname: "example.com")] == [80: 8080])
        #expect(state.workload(uid: "cluster1//v1/Pod/default/local-tcp")?.tunnelProtocol == .tcp)
        let remote = state.service(named: NamespacedHostname(namespace: "default", hostname: "example2.com"))
        #expect(remote?.vips == [NetworkAddress(network: "remote", ip: IPAddress("127.10.0.2")!)])
        #expect(!state.check(from: nil, fromIP: "127.0.0.2", to: "127.0.0.1:9999").allowed)
        #expect(state.check(from: nil, fromIP: "127.0.0.2", to: "127.0.0.1:8080").allowed)
        // Routing through the loaded state: the VIP reaches the HBONE workload's target port.
        guard case .hbone(let r) = state.route(from: local, to: SocketAddress("127.10.0.1:80")!) else {
            Issue.record("expected HBONE"); return
        }
        #expect(r.authority == SocketAddress("127.0.0.1:8080"))
        #expect(r.expectedIdentities.map(\.uri) == ["spiffe://cluster.local/ns/default/sa/default",
                                                      "spiffe://cluster.local/ns/default/sa/local"])
    }
}
