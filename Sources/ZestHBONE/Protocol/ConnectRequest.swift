import ZestCore

/// An HBONE CONNECT request: the target (`:authority`) and the metadata headers ztunnel sends
/// (ZTUNNEL-REFERENCE.md §3.4). No `:scheme` or `:path`: this is RFC 9113 §8.5 CONNECT.
public struct ConnectRequest: Sendable, Equatable {
    /// The target, sent as `:authority` `IP:port` (IPv6 in brackets).
    public var target: SocketAddress
    /// The original client, sent as `forwarded: for="ip:port"`.
    public var forwardedFor: SocketAddress?
    /// The Service hostname, appended to `forwarded` as `;host=` when the client dialed a Service.
    public var forwardedHost: String?
    /// Source workload metadata (`k8s.namespace.name=…,…`), sent as `baggage`.
    public var baggage: String?
    /// W3C trace context; the client connection fills it with its per-connection id.
    public var traceparent: String?

    public init(target: SocketAddress, forwardedFor: SocketAddress? = nil, forwardedHost: String? = nil,
                baggage: String? = nil, traceparent: String? = nil) {
        self.target = target
        self.forwardedFor = forwardedFor
        self.forwardedHost = forwardedHost
        self.baggage = baggage
        self.traceparent = traceparent
    }

    /// The `forwarded` header value, or nil when there is no client address.
    public var forwardedValue: String? {
        guard let forwardedFor else { return nil }
        var v = "for=\"\(forwardedFor)\""
        if let forwardedHost { v += ";host=\(forwardedHost)" }
        return v
    }

    /// The header list in the order it goes on the wire.
    var headers: [H2Header] {
        var h = [H2Header(name: ":method", value: "CONNECT"), H2Header(name: ":authority", value: target.description)]
        if let baggage { h.append(H2Header(name: "baggage", value: baggage)) }
        if let forwardedValue { h.append(H2Header(name: "forwarded", value: forwardedValue)) }
        if let traceparent { h.append(H2Header(name: "traceparent", value: traceparent)) }
        return h
    }
}
