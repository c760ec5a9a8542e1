import ZestCore
import ZestHBONE
import ZestPolicy
import ZestRedirect
import ZestTLS
import ZestTelemetry

/// Tunables of a pod's proxies; the defaults follow ztunnel.
public struct PodProxySettings: Sendable {
    /// Timeout of upstream TCP connects (app, passthrough destination).
    public var connectTimeout: Duration = .seconds(10)
    /// How plain TCP legs copy (`splice` avoids user-space copies).
    public var copyMode: CopyMode = .buffered
    /// How often each worker checks whether a new mesh snapshot was published, to re-authorize
    /// its open inbound connections (one atomic load per check).
    public var policyCheckInterval: Duration = .milliseconds(200)
    public var hboneClient: HBONESettings = .client
    public var hboneServer: HBONESettings = .server
    /// Listener ports (15001, 15006, 15008; 15053 is not served here).
    public var ports: CapturePorts = CapturePorts()

    public init() {}
}

extension CapturePorts {
    /// Targets that would loop back into Zest.
    var loopPorts: Set<UInt16> { [outbound, inboundPlaintext, inboundHBONE] }
}

/// What every worker of one pod shares: read-only after creation.
final class PodContext: Sendable {
    let pod: PodDescription
    let identity: SpiffeID
    let network: any PodNetwork
    let mesh: MeshStateCell
    let serverTLS: TLSContextHolder
    let clientTLS: TLSContextHolder
    let metrics: TrafficMetrics
    let accessLog: AccessLog
    let logger: Logger
    let settings: PodProxySettings

    init(pod: PodDescription, identity: SpiffeID, network: any PodNetwork, mesh: MeshStateCell,
         serverTLS: TLSContextHolder, clientTLS: TLSContextHolder, metrics: TrafficMetrics, logger: Logger,
         settings: PodProxySettings) {
        self.pod = pod
        self.identity = identity
        self.network = network
        self.mesh = mesh
        self.serverTLS = serverTLS
        self.clientTLS = clientTLS
        self.metrics = metrics
        self.accessLog = AccessLog(logger: logger)
        self.logger = logger
        self.settings = settings
    }

    var relaySettings: RelaySettings {
        RelaySettings(connectTimeout: settings.connectTimeout, copyMode: settings.copyMode, pipeCapacity: nil)
    }
}
