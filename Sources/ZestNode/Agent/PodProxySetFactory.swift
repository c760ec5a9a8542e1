/// The per-pod proxy set of ZestProxy, adapted to the agent's `PodProxyFactory`.
public enum PodProxySetFactory {
    /// Builds the factory from the node's services.
    public static func make(_ services: NodeAgent.Services) throws -> any PodProxyFactory {
        Unavailable()
    }

    /// Until ZestProxy's PodProxySet is merged every enrollment is refused (NACKed, retried).
    struct Unavailable: PodProxyFactory {
        func start(_ pod: PodContext) throws -> any PodProxies {
            throw AgentError.unsupported(setting: "pod proxies",
                reason: "this build has no per-pod proxy set (ZestProxy PodProxySet is not merged yet)")
        }
    }
}
