import Testing
import ZestCore
import ZestControl
import ZestPolicy

/// IPv6 addresses and blocks in configuration, plain (unquoted, colons and all) or quoted:
/// what an operator of an IPv6-only or dual-stack cluster writes.
@Suite struct IPv6ConfigTests {
    @Test func ipv6BlocksConvertWhetherQuotedOrPlain() throws {
        let p = try Fixture.load(text: IstioConversionTests().doc("v6", action: "ALLOW", """
          rules:
          - from:
            - source:
                ipBlocks: ["fd00:1::/64", fd00:2::/64, 2001:db8::1]
                notIpBlocks:
                - fd00:1::7
                - "::1"
            when:
            - key: source.ip
              values: [fd00:3::/48]
        """)).get().policies.first
        let clauses = try #require(p?.rules.first?.clauses)
        let m = try #require(clauses.first?.matches.first)
        #expect(m.sourceIPs == [CIDR("fd00:1::/64")!, CIDR("fd00:2::/64")!, CIDR("2001:db8::1/128")!])
        #expect(m.notSourceIPs == [CIDR("fd00:1::7/128")!, CIDR("::1/128")!])
        #expect(clauses.last?.matches == [PolicyMatch(sourceIPs: [CIDR("fd00:3::/48")!])])
    }

    @Test func ipv6WorkloadAndServiceAddressesLoadWhetherQuotedOrPlain() throws {
        let config = try Fixture.load(text: """
        workloads:
        - uid: a
          name: a
          namespace: shop
          workloadIps: [fd00:1::2, "10.0.0.2"]
        - uid: b
          name: b
          namespace: shop
          workloadIps:
          - fd00:1::3
        services:
        - name: svc
          namespace: shop
          hostname: svc.shop.svc.cluster.local
          vips: [/fd00:96::10]
          ports: {80: 8080}
        """).get()
        let workloads = config.workloads.sorted { $0.uid < $1.uid }
        #expect(workloads.map(\.addresses) == [[IPAddress("fd00:1::2")!, IPAddress("10.0.0.2")!], [IPAddress("fd00:1::3")!]])
        #expect(config.services.first?.vips.map(\.ip) == [IPAddress("fd00:96::10")!])
    }
}
