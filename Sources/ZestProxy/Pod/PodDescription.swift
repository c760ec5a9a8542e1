import ZestCore
import ZestPolicy

/// The enrolled pod a `PodProxySet` serves: what the node agent learns from enrollment
/// (ZDS `AddWorkload`) plus the pod's addresses.
public struct PodDescription: Sendable, Hashable, CustomStringConvertible {
    /// The workload uid as the mesh state knows it (e.g. `cluster//Pod/ns/name`).
    public var uid: String
    public var name: String
    public var namespace: String
    public var serviceAccount: String
    public var trustDomain: String
    /// The pod's IPs inside its network namespace.
    public var addresses: [IPAddress]

    public init(uid: String, name: String, namespace: String, serviceAccount: String = "default",
                trustDomain: String = "cluster.local", addresses: [IPAddress]) {
        self.uid = uid
        self.name = name
        self.namespace = namespace
        self.serviceAccount = serviceAccount
        self.trustDomain = trustDomain
        self.addresses = addresses
    }

    /// `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`.
    public func identity() throws(SpiffeID.ParseError) -> SpiffeID {
        try SpiffeID(trustDomain: trustDomain, namespace: namespace, serviceAccount: serviceAccount)
    }

    /// The pod as a mesh workload, for when the mesh state does not list it (yet).
    var fallbackWorkload: Workload {
        Workload(uid: uid, name: name, namespace: namespace, serviceAccount: serviceAccount,
                 trustDomain: trustDomain, addresses: addresses)
    }

    public var description: String { "pod \(namespace)/\(name) (\(uid))" }
}
