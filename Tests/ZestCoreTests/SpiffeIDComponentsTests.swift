import Testing
import ZestCore

/// `SpiffeID(trustDomain:namespace:serviceAccount:)` validates the parts without building the
/// URI; it must accept and reject exactly what parsing the joined URI does.
@Suite struct SpiffeIDComponentsTests {
    static let parts: [(String, String, String)] = [
        ("cluster.local", "orders", "orders-api"), ("td", "a", "b"), ("", "ns", "sa"), ("Cluster.local", "ns", "sa"),
        ("td", "", "sa"), ("td", "ns", ""), ("td", ".", "sa"), ("td", "ns", ".."), ("td", "a/b", "sa"),
        ("td", "ns", "s a"), ("tdé", "ns", "sa"), ("td", "nś", "sa"), ("td", "ns", "sa_1.x-y"),
        (String(repeating: "a", count: 256), "ns", "sa"), ("td", String(repeating: "n", count: 2100), "sa"),
        ("td:8080", "ns", "sa"), ("td", "ns", "sa?x"),
    ]

    @Test(arguments: 0..<parts.count)
    func componentsAgreeWithParsingTheURI(_ i: Int) {
        let (td, ns, sa) = Self.parts[i]
        let parsed = Result { () throws(SpiffeID.ParseError) in try SpiffeID.parse("spiffe://\(td)/ns/\(ns)/sa/\(sa)") }
        let built = Result { () throws(SpiffeID.ParseError) in try SpiffeID(trustDomain: td, namespace: ns, serviceAccount: sa) }
        #expect(parsed == built)
    }
}
