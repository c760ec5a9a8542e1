import Yams
import ZestCore

/// A YAML node with the file and field path it came from, so that every decoding error
/// can name file, line and field.
struct YAMLValue {
    let node: Node
    let file: String
    let path: String

    var line: Int { node.mark?.line ?? 0 }
    var column: Int { node.mark?.column ?? 0 }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, field: path, message: message)
    }

    func child(_ node: Node, _ component: String) -> YAMLValue {
        YAMLValue(node: node, file: file, path: path.isEmpty ? component : "\(path).\(component)")
    }

    var isNull: Bool {
        if case .scalar(let s) = node { return s.tag.rawValue == Tag.Name.null.rawValue || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)) }
        return false
    }

    /// The entries of a mapping, keys as strings. Rejects keys outside `allowed` when given
    /// (ztunnel's local config rejects unknown fields too).
    func mapping(allowed: Set<String>? = nil) throws(ConfigError) -> [(key: String, value: YAMLValue)] {
        if isNull { return [] }
        guard case .mapping(let m) = node else { throw error("expected a mapping, found \(kind)") }
        var out: [(String, YAMLValue)] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else { throw child(k, "<key>").error("mapping keys must be scalars") }
            let value = child(v, ks.string)
            if let allowed, !allowed.contains(ks.string) {
                throw YAMLValue(node: k, file: file, path: value.path)
                    .error("unknown field; expected one of: \(allowed.sorted().joined(separator: ", "))")
            }
            out.append((ks.string, value))
        }
        return out
    }

    /// The value for `key` in a mapping, nil when absent or null.
    func optional(_ key: String) throws(ConfigError) -> YAMLValue? {
        if isNull { return nil }
        guard case .mapping(let m) = node else { throw error("expected a mapping, found \(kind)") }
        for (k, v) in m where k.scalar?.string == key {
            let value = child(v, key)
            return value.isNull ? nil : value
        }
        return nil
    }

    func required(_ key: String) throws(ConfigError) -> YAMLValue {
        guard let v = try optional(key) else {
            throw ConfigError(file: file, line: line, column: column, field: path.isEmpty ? key : "\(path).\(key)",
                              message: "required field is missing")
        }
        return v
    }

    func sequence() throws(ConfigError) -> [YAMLValue] {
        if isNull { return [] }
        guard case .sequence(let s) = node else { throw error("expected a list, found \(kind)") }
        return s.enumerated().map { YAMLValue(node: $1, file: file, path: "\(path)[\($0)]") }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let s) = node else { throw error("expected a string, found \(kind)") }
        return s.string
    }

    func strings() throws(ConfigError) -> [String] {
        var out: [String] = []
        for v in try sequence() { out.append(try v.string()) }
        return out
    }

    func bool() throws(ConfigError) -> Bool {
        switch try string() {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        case let s: throw error("expected true or false, found '\(s)'")
        }
    }

    func port() throws(ConfigError) -> UInt16 {
        let s = try string()
        guard let p = UInt16(s), p > 0 else { throw error("expected a port number 1–65535, found '\(s)'") }
        return p
    }

    /// A port or 0 (a Service target port of 0 means "named port, the endpoint says").
    func portOrZero() throws(ConfigError) -> UInt16 {
        let s = try string()
        guard let p = UInt16(s) else { throw error("expected a port number 0–65535, found '\(s)'") }
        return p
    }

    func uint32() throws(ConfigError) -> UInt32 {
        let s = try string()
        guard let v = UInt32(s) else { throw error("expected a non-negative integer, found '\(s)'") }
        return v
    }

    func ip() throws(ConfigError) -> IPAddress {
        let s = try string()
        guard let ip = IPAddress(s) else { throw error("'\(s)' is not an IPv4 or IPv6 address") }
        return ip
    }

    /// A CIDR block; a bare address is a host block.
    func cidr() throws(ConfigError) -> CIDR {
        let s = try string()
        guard let c = CIDR(s) else { throw error("'\(s)' is not an address or CIDR block (e.g. 10.0.0.0/8)") }
        return c
    }

    /// One of a fixed set of words; the error lists them.
    func choice<T>(_ choices: KeyValuePairs<String, T>) throws(ConfigError) -> T {
        let s = try string()
        if let v = choices.first(where: { $0.key == s })?.value { return v }
        throw error("'\(s)' is not one of: \(choices.map(\.key).joined(separator: ", "))")
    }

    /// `key: value` string pairs (labels, matchLabels).
    func stringMap() throws(ConfigError) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in try mapping() { out[k] = try v.string() }
        return out
    }

    /// `port: port` pairs (ztunnel's service and workload port maps).
    func portMap() throws(ConfigError) -> [UInt16: UInt16] {
        var out: [UInt16: UInt16] = [:]
        for (k, v) in try mapping() {
            guard let sp = UInt16(k), sp > 0 else { throw v.error("'\(k)' is not a port number") }
            out[sp] = try v.portOrZero()
        }
        return out
    }

    var kind: String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
