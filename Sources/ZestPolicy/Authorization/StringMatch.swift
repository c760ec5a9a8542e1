/// One string condition of an authorization match: exact, prefix, suffix, or "present".
public enum StringMatch: Hashable, Sendable, CustomStringConvertible {
    case exact(String)
    case prefix(String)
    case suffix(String)
    /// Matches any non-empty value (Istio's `*`).
    case presence

    /// Converts an AuthorizationPolicy value the way Istio does: `*` is presence,
    /// `abc*` a prefix, `*abc` a suffix, anything else exact.
    public init(istioPattern p: String) {
        if p == "*" {
            self = .presence
        } else if p.hasPrefix("*") {
            self = .suffix(String(p.dropFirst()))
        } else if p.hasSuffix("*") {
            self = .prefix(String(p.dropLast()))
        } else {
            self = .exact(p)
        }
    }

    @inlinable
    public func matches(_ value: String) -> Bool {
        switch self {
        // Comparing lengths first skips the general comparison for most mismatches.
        case .exact(let s): return s.utf8.count == value.utf8.count && s == value
        case .prefix(let s): return value.hasPrefix(s)
        case .suffix(let s): return value.hasSuffix(s)
        case .presence: return !value.isEmpty
        }
    }

    /// The Istio pattern this match came from (`*`, `abc*`, `*abc`, `abc`).
    public var description: String {
        switch self {
        case .exact(let s): return s
        case .prefix(let s): return "\(s)*"
        case .suffix(let s): return "*\(s)"
        case .presence: return "*"
        }
    }
}

/// A service-account condition: the peer's identity has exactly this namespace and account.
public struct ServiceAccountMatch: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var serviceAccount: String

    public init(namespace: String, serviceAccount: String) {
        self.namespace = namespace
        self.serviceAccount = serviceAccount
    }

    public var description: String { "\(namespace)/\(serviceAccount)" }
}
