import ZestCore
import ZestReactor
import ZestTLS

/// One worker's outbound HBONE connections for one source (ztunnel keeps one pool per
/// workload proxy): tunnels with the same `HBONEPoolKey` share a connection, one dial per key
/// at a time, idle connections released after 5 minutes. Confined to the worker's loop.
public final class HBONEOutboundPool {
    let pool: HBONEClientPool

    /// `tls` is the client context presenting the source's certificate. `dialer` opens and
    /// starts connecting the TCP socket of each new connection to the pool key's destination,
    /// bound to the key's source IP when it has one (inside the source pod's network
    /// namespace, marked, for the per-pod proxies).
    public init(loop: EventLoop, tls: TLSContext, settings: HBONESettings = .client,
                dialer: @escaping (_ destination: SocketAddress, _ source: IPAddress?) throws -> (Socket, IOResult<Void>)) {
        pool = HBONEClientPool(loop: loop, tls: tls, settings: settings)
        pool.dialer = dialer
    }

    /// The context used by new dials; set it when the source certificate rotates (open
    /// connections keep theirs).
    public var tls: TLSContext {
        get { pool.tls }
        set { pool.tls = newValue }
    }

    /// Opens a tunnel carrying `endpoint` to `request.target` through a pooled connection for
    /// `key`. Failures close the endpoint with RST; its `failure` says why.
    public func openTunnel(_ key: HBONEPoolKey, _ request: ConnectRequest, for endpoint: TunnelEndpoint) {
        pool.openTunnel(key, request, for: endpoint.socket)
    }

    /// GOAWAY on every pooled connection (drain): open tunnels finish, new ones dial afresh.
    public func drain() { pool.drainAll() }

    /// Closes every connection now (stop); tunnels on them fail.
    public func close() { pool.closeAll() }

    /// Pooled connections now.
    public var connectionCount: Int { pool.connectionCount }

    /// Connections dialed so far.
    public var dialCount: Int { pool.dialsStarted }
}
