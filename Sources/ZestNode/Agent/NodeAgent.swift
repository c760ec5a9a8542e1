import Foundation
import Synchronization
import ZestControl
import ZestCore
import ZestIdentity
import ZestPolicy
import ZestReactor
import ZestRedirect
import ZestTelemetry

/// The node agent `zest run` starts: certificates, mesh configuration, data-plane workers,
/// enrollment (ZDS) with capture and per-pod proxies, and the metrics/readiness/admin
/// servers, wired together; `run()` serves until a shutdown is requested and then drains.
public final class NodeAgent: Sendable {
    /// The node-wide parts every pod shares (configuration, logger, metrics, mesh, certificates, workers).
    public struct Services: Sendable {
        public let config: NodeConfig
        public let logger: Logger
        public let metrics: MetricsRegistry
        /// The mesh snapshot (workloads, services, policies); republished on config change.
        public let mesh: MeshStateCell
        public let certificates: CertificateManager
        public let workers: WorkerGroup
        /// Dedicated thread for namespace work (setns never runs elsewhere).
        public let netns: NetnsThread
    }

    public let services: Services
    public let readiness: Readiness
    public let admin: AdminService
    public let pods: PodRegistry
    public let enrollment: ZdsClient
    private let telemetry: TelemetryServers
    private let configWatcher: ConfigWatcher?
    private let control: ControlLoop
    private let shutdownSignal = StopSignal()
    private let shutdownReason = ShutdownReason()

    /// Builds and starts everything. Throws `AgentError` (nothing left running) when a part cannot start.
    public init(config: NodeConfig, logger: Logger) throws {
        let readiness = Readiness()
        let certificatesTask = readiness.register("certificates")
        let configurationTask = readiness.register("configuration")
        let snapshotTask = readiness.register("enrollment snapshot")
        let metrics = MetricsRegistry(buildTag: NodeAgent.version)

        let rotation = RotationTarget()
        let certificates = CertificateManager(provider: try NodeAgent.certificateProvider(config)) { id, cert in
            rotation.registry?.rotate(id, to: cert)
        }
        let store = try NodeAgent.configStore(config)
        let mesh = store?.cell ?? MeshStateCell()
        let workerCount = config.workers.resolve(cpus: CPUCount.defaultWorkerCount())
        let bufferPools = metrics.bufferPools
        let busyPoll = config.busyPoll
        let workers = try WorkerGroup(workers: workerCount) { loop in
            loop.busyPoll = busyPoll
            BufferPoolSampler.start(on: loop, metrics: bufferPools)
        }
        let netns = try NetnsThread()
        let services = Services(config: config, logger: logger,
                                metrics: metrics, mesh: mesh, certificates: certificates,
                                workers: workers, netns: netns)
        var options = CaptureOptions()
        options.captureDNS = config.dnsCapture
        let capture = PodCapture(mode: config.captureByIstioCNI ? .external : .zest(options), thread: netns)
        let pods = PodRegistry(.init(capture: capture, netns: netns, workers: workers, mesh: mesh,
                                     certificates: certificates, metrics: metrics, logger: logger,
                                     trustDomain: config.trustDomain, namespaceDirectory: config.namespaceDirectory))
        rotation.registry = pods
        var zdsConfig = ZdsClient.Configuration(socketPath: config.enrollmentSocket)
        zdsConfig.log = { line in logger.info("zds", line) }
        let enrollment = ZdsClient(configuration: zdsConfig, delegate: pods)

        let signal = shutdownSignal
        let reason = shutdownReason
        let admin = AdminService(logger: logger) {
            reason.set("/quitquitquit")
            signal.stop()
        }
        AgentConfigDump.register(on: admin, config: config, mesh: mesh, certificates: certificates,
                                 pods: pods, enrollment: { enrollment.status })
        var addresses = TelemetryServers.Addresses()
        addresses.admin = config.adminAddress
        addresses.metrics = config.metricsAddress
        addresses.readiness = config.readinessAddress
        do {
            telemetry = try TelemetryServers(addresses: addresses, registry: metrics, readiness: readiness, admin: admin)
        } catch {
            workers.shutdown()
            throw AgentError.listen("\(error)")
        }

        configurationTask.markReady()
        configWatcher = store.map { store in
            ConfigWatcher(store: store) { result in
                switch result {
                case .applied(let generation, let warnings):
                    logger.info("config", "configuration reloaded and published", [LogField("generation", Int(generation))])
                    for w in warnings { logger.warn("config", "\(w)") }
                case .rejected(let errors):
                    logger.error("config", "configuration change rejected; the previous one stays in force",
                                 [LogField("error", "\(errors)")])
                }
            }
        }
        self.services = services
        self.readiness = readiness
        self.admin = admin
        self.pods = pods
        self.enrollment = enrollment
        control = ControlLoop(certificates: certificates, enrollment: enrollment, pods: pods,
                              certificatesTask: certificatesTask, snapshotTask: snapshotTask, logger: logger)
        enrollment.start()
    }

    /// The telemetry servers' bound addresses (metrics, readiness, admin).
    public var telemetryAddresses: (metrics: SocketAddress, readiness: SocketAddress, admin: SocketAddress) {
        (telemetry.metrics.localAddress, telemetry.readiness.localAddress, telemetry.admin.localAddress)
    }

    /// Starts the drain (SIGTERM, SIGINT, /quitquitquit); returns at once.
    public func requestShutdown(reason: String) {
        shutdownReason.set(reason)
        shutdownSignal.stop()
    }

    /// Serves until a shutdown is requested, then drains: enrollment stops, every pod
    /// listener closes at once (a second Zest on the same SO_REUSEPORT ports takes new
    /// connections), HBONE peers get GOAWAY, open connections run until the termination
    /// deadline or their end, the rest are closed cleanly. Returns the exit status (0).
    public func run() -> Int32 {
        while !shutdownSignal.isStopped { shutdownSignal.sleep(.seconds(3600)) }
        let deadline = services.config.terminationDeadline
        services.logger.info("agent", "draining", [
            LogField("reason", shutdownReason.value), LogField("deadline", deadline.compactDescription),
            LogField("connections", pods.openConnections),
        ])
        readiness.register("draining").markPending()
        enrollment.stop()
        pods.drain(deadline: deadline)
        let end = ContinuousClock.now + deadline
        while pods.openConnections > 0 && ContinuousClock.now < end {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let left = pods.openConnections
        pods.stopAll()
        control.stop()
        configWatcher?.stop()
        services.workers.shutdown()
        telemetry.stop()
        services.logger.info("agent", "drained; exiting", [LogField("closedAtDeadline", left)])
        services.logger.flush()
        return 0
    }

    static let version = "0.1.0-dev"

    private static func certificateProvider(_ config: NodeConfig) throws -> any CertificateProvider {
        guard config.caAddress.isEmpty else {
            throw AgentError.unsupported(setting: "CA_ADDRESS=\(config.caAddress)",
                reason: "the Istio CA client is not built yet; unset CA_ADDRESS to use the embedded CA (ZEST_STATE_DIR) or set ZEST_CACERTS_DIR to an Istio cacerts directory")
        }
        do {
            if !config.cacertsDirectory.isEmpty {
                return try EmbeddedCA.loadIstioCACerts(directory: config.cacertsDirectory, trustDomain: config.trustDomain,
                                                       leafLifetime: config.certificateLifetime)
            }
            try? FileManager.default.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            return try EmbeddedCA.loadOrCreate(stateDirectory: config.stateDirectory + "/ca", trustDomain: config.trustDomain,
                                               leafLifetime: config.certificateLifetime)
        } catch {
            throw AgentError.certificates("\(error)")
        }
    }

    private static func configStore(_ config: NodeConfig) throws -> ConfigStore? {
        guard config.xdsAddress.isEmpty else {
            throw AgentError.unsupported(setting: "XDS_ADDRESS=\(config.xdsAddress)",
                reason: "the xDS client is not built yet; unset XDS_ADDRESS and give the mesh as files in LOCAL_XDS_PATH")
        }
        let files = config.localConfigPath.split(separator: ",").map { String($0).trimming(" ") }.filter { !$0.isEmpty }
        guard !files.isEmpty else { return nil }
        do {
            return try ConfigStore(files: files)
        } catch {
            throw AgentError.configuration("\(error)")
        }
    }
}

/// Lets certificate renewals reach the pod registry, which is built after the manager.
final class RotationTarget: Sendable {
    private let target = Mutex<PodRegistry?>(nil)
    var registry: PodRegistry? {
        get { target.withLock { $0 } }
        set { target.withLock { $0 = newValue } }
    }
}

/// Why the agent is shutting down, for the log.
final class ShutdownReason: Sendable {
    private let text = Mutex("")
    func set(_ reason: String) { text.withLock { if $0.isEmpty { $0 = reason } } }
    var value: String { text.withLock { $0 } }
}
