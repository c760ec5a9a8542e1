/// What one pod's proxies did, summed over workers (`PodProxySet.counters()`): the figures
/// an operator (and a test) checks to see which path a connection took.
public struct PodProxyCounters: Sendable, Equatable {
    /// Connections accepted on 15001.
    public var outboundAccepted = 0
    /// Outbound connections sent over HBONE (directly or through a waypoint).
    public var outboundHBONE = 0
    /// Outbound connections relayed as plain TCP (unknown destination, TCP workload, passthrough Service).
    public var outboundPassthrough = 0
    /// Outbound connections aimed at a Zest port or at the listener itself, refused (loop guard).
    public var outboundRefused = 0
    /// Outbound connections with no route (no healthy endpoint, unknown waypoint…), reset.
    public var outboundRouteFailures = 0
    /// Outbound HBONE tunnels the peer refused or that failed before opening.
    public var outboundTunnelFailures = 0
    /// Connections accepted on 15006.
    public var inboundPlaintextAccepted = 0
    /// Plaintext connections denied by policy (including STRICT mTLS) and closed.
    public var inboundPlaintextDenied = 0
    /// TLS connections accepted on 15008.
    public var inboundHBONEConnections = 0
    /// CONNECT requests answered 200.
    public var inboundTunnelsOpened = 0
    /// CONNECT requests answered 401 (authorization denied).
    public var inboundTunnelsDenied = 0
    /// CONNECT requests answered 503 because the app could not be reached.
    public var inboundUpstreamFailures = 0
    /// Open inbound connections closed because a new policy denies them.
    public var closedByPolicyChange = 0
    /// Connections closed by the drain deadline or by stop.
    public var closedByShutdown = 0
    /// Bytes the pod's app sent through its proxies (outbound requests plus inbound replies).
    public var bytesFromApp: UInt64 = 0
    /// Bytes delivered to the pod's app.
    public var bytesToApp: UInt64 = 0
    /// Connections open right now (outbound, inbound plaintext and inbound tunnels).
    public var open = 0

    public init() {}

    mutating func add(_ o: PodProxyCounters) {
        outboundAccepted += o.outboundAccepted
        outboundHBONE += o.outboundHBONE
        outboundPassthrough += o.outboundPassthrough
        outboundRefused += o.outboundRefused
        outboundRouteFailures += o.outboundRouteFailures
        outboundTunnelFailures += o.outboundTunnelFailures
        inboundPlaintextAccepted += o.inboundPlaintextAccepted
        inboundPlaintextDenied += o.inboundPlaintextDenied
        inboundHBONEConnections += o.inboundHBONEConnections
        inboundTunnelsOpened += o.inboundTunnelsOpened
        inboundTunnelsDenied += o.inboundTunnelsDenied
        inboundUpstreamFailures += o.inboundUpstreamFailures
        closedByPolicyChange += o.closedByPolicyChange
        closedByShutdown += o.closedByShutdown
        bytesFromApp &+= o.bytesFromApp
        bytesToApp &+= o.bytesToApp
        open += o.open
    }
}
