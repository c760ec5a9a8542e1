/// A W3C trace context id, `00-<32 hex trace id>-<16 hex parent id>-00`, fresh per outbound
/// connection as ztunnel sends it (no tracing backend; it correlates logs across hops).
public enum Traceparent {
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var trace = hex(UInt64.random(in: .min ... .max, using: &generator)) + hex(UInt64.random(in: .min ... .max, using: &generator))
        // An all-zero trace id is invalid; the chance is negligible but the rule is cheap.
        if trace.allSatisfy({ $0 == "0" }) { trace = String(trace.dropLast()) + "1" }
        let parent = hex(UInt64.random(in: 1 ... .max, using: &generator))
        return "00-\(trace)-\(parent)-00"
    }

    public static func random() -> String {
        var g = SystemRandomNumberGenerator()
        return random(using: &g)
    }

    private static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
