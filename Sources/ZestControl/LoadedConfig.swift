import ZestPolicy

/// Everything read from a set of configuration files, before indexing: the union of
/// ztunnel local-config documents and Istio CRDs, plus the warnings loading produced.
public struct LoadedConfig: Sendable {
    public var workloads: [Workload] = []
    public var services: [Service] = []
    public var policies: [AuthorizationPolicy] = []
    public var peerAuthentications: [PeerAuthentication] = []
    public var warnings: [ConfigWarning] = []
    /// Where each policy came from (`namespace/name` → file:line), for messages.
    public var origins: [String: String] = [:]

    public init() {}

    /// Indexes the configuration into an immutable snapshot.
    public func makeState(rootNamespace: String) -> MeshState {
        MeshState(workloads: workloads, services: services,
                  policies: PolicySet(policies: policies, peerAuthentications: peerAuthentications,
                                      rootNamespace: rootNamespace))
    }
}
