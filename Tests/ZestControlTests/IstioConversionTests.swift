import Testing
import ZestCore
import ZestControl
import ZestPolicy

/// AuthorizationPolicy and PeerAuthentication YAML converted for L4 as istiod does for ztunnel.
@Suite struct IstioConversionTests {
    func policy(_ yaml: String) throws -> (AuthorizationPolicy?, [ConfigWarning]) {
        let config = try Fixture.load(text: yaml).get()
        return (config.policies.first, config.warnings)
    }

    func doc(_ name: String, ns: String = "payments", action: String = "DENY", _ body: String) -> String {
        """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: \(name)
          namespace: \(ns)
        spec:
          action: \(action)
        \(body)
        """
    }

    @Test func denyKeepsItsL4PartAndWarns() throws {
        let (p, warnings) = try policy(doc("deny-mixed", """
          rules:
          - from:
            - source:
                namespaces: ["shop"]
            to:
            - operation:
                ports: ["8080"]
                methods: ["DELETE"]
        """))
        let rule = try #require(p?.rules.first)
        #expect(rule.clauses.count == 2)
        #expect(rule.clauses[1].matches == [PolicyMatch(destinationPorts: [8080])])
        #expect(warnings.count == 1 && warnings[0].policy == "payments/deny-mixed")
        #expect(warnings[0].message.contains("L4 remainder is enforced"))
    }

    @Test func denyWithOnlyHTTPConditionsNeverMatches() throws {
        let (p, warnings) = try policy(doc("deny-l7", """
          rules:
          - to:
            - operation:
                paths: ["/admin"]
        """))
        let state = MeshState(workloads: [Workload(uid: "u", name: "a", namespace: "payments", addresses: [IPAddress("10.0.0.1")!])],
                              policies: PolicySet(policies: [try #require(p)]))
        #expect(state.check(from: nil, fromIP: "10.0.0.2", to: "10.0.0.1:80").allowed)
        #expect(warnings.first?.message.contains("never matches") == true)
    }

    @Test func denyWithAnHTTPOnlyWhenConditionNeverMatches() throws {
        let (p, warnings) = try policy(doc("deny-header", """
          rules:
          - from:
            - source:
                namespaces: ["shop"]
            when:
            - key: request.headers[x-debug]
              values: ["1"]
        """))
        let w = Workload(uid: "u", name: "a", namespace: "payments", addresses: [IPAddress("10.0.0.1")!])
        let state = MeshState(workloads: [w], policies: PolicySet(policies: [try #require(p)]))
        #expect(state.check(from: "spiffe://cluster.local/ns/shop/sa/x", fromIP: "10.0.0.2", to: "10.0.0.1:80").allowed)
        #expect(warnings.first?.message.contains("request.headers[x-debug]") == true)
    }

    @Test func whenConditionsOnL4KeysAreEnforced() throws {
        let (p, warnings) = try policy(doc("deny-ip", """
          rules:
          - when:
            - key: source.ip
              values: ["10.1.0.0/16"]
            - key: destination.port
              notValues: ["8080"]
        """))
        let w = Workload(uid: "u", name: "a", namespace: "payments", addresses: [IPAddress("10.0.0.1")!])
        let state = MeshState(workloads: [w], policies: PolicySet(policies: [try #require(p)]))
        #expect(!state.check(from: nil, fromIP: "10.1.2.3", to: "10.0.0.1:22").allowed)
        #expect(state.check(from: nil, fromIP: "10.1.2.3", to: "10.0.0.1:8080").allowed)
        #expect(state.check(from: nil, fromIP: "10.2.2.3", to: "10.0.0.1:22").allowed)
        #expect(warnings.isEmpty)
    }

    @Test func auditAndCustomHaveNoL4Effect() throws {
        for action in ["AUDIT", "CUSTOM"] {
            let (p, warnings) = try policy(doc("a", action: action, "  rules: [{}]"))
            #expect(p == nil)
            #expect(warnings.first?.message.contains("no effect at L4") == true)
        }
    }

    @Test func targetRefPoliciesBelongToWaypoints() throws {
        let (p, warnings) = try policy(doc("wp", action: "ALLOW", """
          targetRefs:
          - kind: Service
            group: ""
            name: payments-api
        """))
        #expect(p == nil)
        #expect(warnings.first?.message.contains("waypoint") == true)
    }

    @Test func rootNamespacePoliciesAreGlobalAndSelectorsScopeToWorkloads() throws {
        let (mesh, _) = try policy(doc("mesh", ns: "istio-system", "  rules: [{}]"))
        #expect(mesh?.scope == .global)
        let (selected, _) = try policy(doc("sel", """
          selector:
            matchLabels: {app: api}
          rules: [{}]
        """))
        #expect(selected?.scope == .workloadSelector && selected?.selector == ["app": "api"])
        let (ns, _) = try policy(doc("ns", "  rules: [{}]"))
        #expect(ns?.scope == .namespace)
    }

    @Test func sourceFieldsConvertToMatches() throws {
        let (p, _) = try policy(doc("fields", action: "ALLOW", """
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/orders/*"]
                notNamespaces: ["test"]
                ipBlocks: ["10.0.0.0/8", "192.168.1.1"]
                notIpBlocks: ["10.9.0.0/16"]
                serviceAccounts: ["orders/orders-api"]
            to:
            - operation:
                notPorts: ["22"]
        """))
        let m = try #require(p?.rules.first?.clauses.first?.matches.first)
        #expect(m.principals == [.prefix("cluster.local/ns/orders/")])
        #expect(m.notNamespaces == [.exact("test")])
        #expect(m.sourceIPs == [CIDR("10.0.0.0/8")!, CIDR("192.168.1.1/32")!])
        #expect(m.notSourceIPs == [CIDR("10.9.0.0/16")!])
        #expect(m.serviceAccounts == [ServiceAccountMatch(namespace: "orders", serviceAccount: "orders-api")])
        #expect(p?.rules.first?.clauses.last?.matches == [PolicyMatch(notDestinationPorts: [22])])
    }

    @Test func peerAuthenticationPortLevelNeedsASelector() throws {
        let config = try Fixture.load(text: """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: pa, namespace: payments}
        spec:
          selector:
            matchLabels: {app: api}
          mtls: {mode: STRICT}
          portLevelMtls:
            "8080": {mode: PERMISSIVE}
        ---
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: ns-wide, namespace: payments}
        spec:
          mtls: {mode: PERMISSIVE}
          portLevelMtls:
            "9090": {mode: STRICT}
        """).get()
        #expect(config.peerAuthentications.count == 2)
        #expect(config.peerAuthentications[0].portModes == [8080: .permissive])
        #expect(config.peerAuthentications[1].portModes.isEmpty)
        #expect(config.warnings.contains { $0.policy == "payments/ns-wide" && $0.message.contains("selector") })
    }
}
