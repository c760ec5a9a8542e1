import ZestCore

/// An IP address qualified by the network it lives on, written `network/ip` as in ztunnel's
/// configuration (`/10.0.0.1` on the default, unnamed network).
public struct NetworkAddress: Hashable, Sendable, CustomStringConvertible {
    public var network: String
    public var ip: IPAddress

    public init(network: String = "", ip: IPAddress) {
        self.network = network
        self.ip = ip
    }

    /// Parses `network/ip`; the network part may be empty. Returns nil on anything else.
    public init?(_ text: some StringProtocol) {
        guard let slash = text.firstIndex(of: "/"), let ip = IPAddress(text[text.index(after: slash)...]) else {
            return nil
        }
        self.init(network: String(text[..<slash]), ip: ip)
    }

    public var description: String { "\(network)/\(ip)" }
}

/// An address block qualified by its network, written `network/10.0.0.0/16`, for Services
/// whose VIP is a whole range.
public struct NetworkCIDR: Hashable, Sendable, CustomStringConvertible {
    public var network: String
    public var cidr: CIDR

    public init(network: String = "", cidr: CIDR) {
        self.network = network
        self.cidr = cidr
    }

    /// Parses `network/ip/length`. Returns nil on anything else.
    public init?(_ text: some StringProtocol) {
        guard let slash = text.firstIndex(of: "/"), let cidr = CIDR(text[text.index(after: slash)...]) else {
            return nil
        }
        self.init(network: String(text[..<slash]), cidr: cidr)
    }

    public var description: String { "\(network)/\(cidr)" }
}

/// A Service's key, `namespace/hostname`.
public struct NamespacedHostname: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var hostname: String

    public init(namespace: String, hostname: String) {
        self.namespace = namespace
        self.hostname = hostname
    }

    /// Parses `namespace/hostname`; both parts must be non-empty and the hostname has no `/`.
    public init?(_ text: some StringProtocol) {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let ns = text[..<slash], host = text[text.index(after: slash)...]
        guard !ns.isEmpty, !host.isEmpty, !host.contains("/") else { return nil }
        self.init(namespace: String(ns), hostname: String(host))
    }

    public var description: String { "\(namespace)/\(hostname)" }
}
