/// Parses durations as ztunnel and Kubernetes write them: `5s`, `1m30s`, `500ms`, `24h`, `2.5s`.
/// A bare number is seconds. Returns nil on anything else.
func parseDuration(_ text: String) -> Duration? {
    let s = text.trimming(" \t")
    guard !s.isEmpty else { return nil }
    if let seconds = Double(s), seconds >= 0, seconds.isFinite { return .milliseconds(Int64(seconds * 1000)) }
    let units: [(String, Double)] = [("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1), ("us", 0.000001), ("ns", 1e-9)]
    var rest = Substring(s)
    var total = 0.0
    while !rest.isEmpty {
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number) else { return nil }
        rest = rest.dropFirst(number.count)
        guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
        rest = rest.dropFirst(unit.0.count)
        let scale: Double = unit.1
        total += value * scale
    }
    guard total.isFinite, total < 1e12 else { return nil }
    return .nanoseconds(Int64((total * 1e9).rounded()))
}

extension Duration {
    /// `5s`, `250ms`, `50us`: a compact form for logs and config dumps (whole microseconds).
    var compactDescription: String {
        let (s, atto) = components
        let us = s * 1_000_000 + atto / 1_000_000_000_000
        if us % 1_000_000 == 0 { return "\(us / 1_000_000)s" }
        if us % 1000 == 0 { return "\(us / 1000)ms" }
        return "\(us)us"
    }
}

extension String {
    func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
