import Testing
import ZestCore

@Suite struct SpiffeIDTests {
    static let valid: [(String, String, String, String)] = [
        ("spiffe://cluster.local/ns/default/sa/default", "cluster.local", "default", "default"),
        ("spiffe://cluster.local/ns/orders/sa/orders-api", "cluster.local", "orders", "orders-api"),
        ("spiffe://td/ns/a/sa/b", "td", "a", "b"),
        ("spiffe://my-td_1.example/ns/x/sa/y", "my-td_1.example", "x", "y"),
        ("spiffe://cluster.local/ns/kube-system/sa/My.SA_1", "cluster.local", "kube-system", "My.SA_1"),
        ("spiffe://123/ns/0/sa/0", "123", "0", "0"),
        ("spiffe://cluster.local/ns/.../sa/x", "cluster.local", "...", "x"),
        ("spiffe://" + String(repeating: "a", count: 255) + "/ns/n/sa/s", String(repeating: "a", count: 255), "n", "s"),
    ]

    @Test(arguments: valid)
    func parsesValidIdentities(_ c: (String, String, String, String)) throws {
        let id = try SpiffeID.parse(c.0)
        #expect(id.trustDomain == c.1)
        #expect(id.namespace == c.2)
        #expect(id.serviceAccount == c.3)
        #expect(id.description == c.0, "formatting round-trips")
        #expect(id.principal == String(c.0.dropFirst("spiffe://".count)))
    }

    static let invalid: [(String, SpiffeID.ParseError)] = [
        ("", .wrongScheme),
        ("cluster.local/ns/a/sa/b", .wrongScheme),
        ("SPIFFE://cluster.local/ns/a/sa/b", .wrongScheme),
        ("spiffe:/cluster.local/ns/a/sa/b", .wrongScheme),
        ("https://cluster.local/ns/a/sa/b", .wrongScheme),
        ("spiffe:///ns/a/sa/b", .emptyTrustDomain),
        ("spiffe://Cluster.local/ns/a/sa/b", .badTrustDomainCharacter("C")),
        ("spiffe://cluster.local:8080/ns/a/sa/b", .badTrustDomainCharacter(":")),
        ("spiffe://user@cluster.local/ns/a/sa/b", .badTrustDomainCharacter("@")),
        ("spiffe://clus ter/ns/a/sa/b", .badTrustDomainCharacter(" ")),
        ("spiffe://" + String(repeating: "a", count: 256) + "/ns/n/sa/s", .trustDomainTooLong(256)),
        ("spiffe://cluster.local/ns/a/sa/b?x=1", .badPathCharacter("?")),
        ("spiffe://cluster.local/ns/a/sa/b#frag", .badPathCharacter("#")),
        ("spiffe://cluster.local/ns/a%20/sa/b", .badPathCharacter("%")),
        ("spiffe://cluster.local/ns/ä/sa/b", .badPathCharacter("ä")),
        ("spiffe://cluster.local/ns/a/sa/b/", .emptySegment),
        ("spiffe://cluster.local/ns//sa/b", .emptySegment),
        ("spiffe://cluster.local//ns/a/sa/b", .emptySegment),
        ("spiffe://cluster.local/ns/./sa/b", .dotSegment),
        ("spiffe://cluster.local/ns/../sa/b", .dotSegment),
        ("spiffe://cluster.local", .notIstioShape("")),
        ("spiffe://cluster.local/", .emptySegment),
        ("spiffe://cluster.local/ns/a", .notIstioShape("/ns/a")),
        ("spiffe://cluster.local/ns/a/sa", .notIstioShape("/ns/a/sa")),
        ("spiffe://cluster.local/ns/a/sa/b/c", .notIstioShape("/ns/a/sa/b/c")),
        ("spiffe://cluster.local/NS/a/sa/b", .notIstioShape("/NS/a/sa/b")),
        ("spiffe://cluster.local/ns/a/serviceaccount/b", .notIstioShape("/ns/a/serviceaccount/b")),
        ("spiffe://cluster.local/sa/b/ns/a", .notIstioShape("/sa/b/ns/a")),
        ("spiffe://cluster.local/workload/x", .notIstioShape("/workload/x")),
        ("spiffe://cluster.local/ns/a/sa/" + String(repeating: "b", count: 2048), .tooLong(2079)),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidIdentities(_ c: (String, SpiffeID.ParseError)) {
        #expect(throws: c.1) { try SpiffeID.parse(c.0) }
        #expect(SpiffeID(c.0) == nil)
    }

    @Test func componentsInitializerValidates() throws {
        let id = try SpiffeID(trustDomain: "cluster.local", namespace: "payments", serviceAccount: "api")
        #expect(id.uri == "spiffe://cluster.local/ns/payments/sa/api")
        #expect(throws: SpiffeID.ParseError.self) {
            try SpiffeID(trustDomain: "cluster.local", namespace: "a/b", serviceAccount: "c")
        }
    }
}
