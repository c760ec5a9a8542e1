import ZestCore
import ZestRedirect

/// A pod the agent serves, as the proxy layer needs to know it.
public struct PodContext: Sendable {
    public let uid: PodUID
    public let info: WorkloadInfo
    /// The pod's network namespace; listeners and dials are opened inside it.
    public let netns: NetNamespace
    /// The pod's SPIFFE identity (trust domain from the node configuration).
    public let identity: SpiffeID

    public init(uid: PodUID, info: WorkloadInfo, netns: NetNamespace, identity: SpiffeID) {
        self.uid = uid
        self.info = info
        self.netns = netns
        self.identity = identity
    }
}

/// Open connections of one pod's proxies, for `/config_dump` and the drain.
public struct PodConnectionCounts: Sendable, Equatable {
    public var inbound: Int
    public var outbound: Int

    public init(inbound: Int = 0, outbound: Int = 0) {
        self.inbound = inbound
        self.outbound = outbound
    }

    public var total: Int { inbound + outbound }
}

/// The proxy layer as the node agent drives it: one running set of listeners
/// (15001/15006/15008 on every worker) per enrolled pod.
public protocol PodProxyFactory: Sendable {
    /// Opens the pod's listeners inside its namespace and starts serving them. Throwing
    /// leaves nothing open; the enrollment is NACKed and retried.
    func start(_ pod: PodContext) throws -> any PodProxies
}

/// One pod's running proxies.
public protocol PodProxies: AnyObject, Sendable {
    /// Closes the pod's listeners at once; open connections keep running. With
    /// SO_REUSEPORT, a second Zest bound to the same ports takes every new connection.
    func stopAccepting()

    /// Tells HBONE peers to stop opening streams (GOAWAY); open streams keep running.
    func goAway()

    /// Closes every remaining connection now, cleanly (TLS close_notify, HTTP/2 GOAWAY, FIN).
    func closeAll()

    /// Open connections by direction.
    var connections: PodConnectionCounts { get }
}
