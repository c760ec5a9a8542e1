import Synchronization
import ZestCore
import ZestIdentity
import ZestRedirect
import ZestTelemetry

/// The node agent's pods: what enrollment asks for, carried out. For each pod it opens the
/// listeners first and then installs the capture rules, so no new connection is ever
/// redirected to a port nobody listens on; removal goes the other way round. Implements
/// `EnrollmentDelegate`, so its calls come from the ZDS client's thread one at a time.
public final class PodRegistry: EnrollmentDelegate {
    /// One served pod.
    public struct Pod: Sendable {
        public let context: PodContext
        public let proxies: any PodProxies
        public let enrolledAt: ContinuousClock.Instant
    }

    public struct Dependencies: Sendable {
        public var capture: PodCapture
        public var certificates: CertificateManager
        public var proxies: any PodProxyFactory
        public var metrics: WorkloadManagerMetrics
        public var logger: Logger
        public var trustDomain: String
        /// Directory of named network namespaces searched for leftover capture tables once
        /// the first snapshot is in (Kubernetes and `ip netns` keep pod namespaces there).
        public var namespaceDirectory: String

        public init(capture: PodCapture, certificates: CertificateManager, proxies: any PodProxyFactory,
                    metrics: WorkloadManagerMetrics, logger: Logger, trustDomain: String,
                    namespaceDirectory: String) {
            self.capture = capture
            self.certificates = certificates
            self.proxies = proxies
            self.metrics = metrics
            self.logger = logger
            self.trustDomain = trustDomain
            self.namespaceDirectory = namespaceDirectory
        }
    }

    private let deps: Dependencies
    private let pods = Mutex<[PodUID: Pod]>([:])
    private let snapshots = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)

    public init(_ dependencies: Dependencies) {
        deps = dependencies
    }

    /// A copy of the pods served now.
    public var current: [PodUID: Pod] { pods.withLock { $0 } }

    /// Snapshots completed since start (the first one triggers the leftover cleanup).
    public var completedSnapshots: Int { snapshots.load(ordering: .acquiring) }

    // MARK: - EnrollmentDelegate

    public func enroll(_ uid: PodUID, info: WorkloadInfo, netns: NetNamespaceHandle) throws {
        guard !draining.load(ordering: .acquiring) else { throw AgentError.draining }
        guard let identity = SpiffeID("spiffe://\(deps.trustDomain)/ns/\(info.namespace)/sa/\(info.serviceAccount)") else {
            throw AgentError.invalidIdentity(info: "\(info)", trustDomain: deps.trustDomain)
        }
        let namespace = try NetNamespace(duplicating: netns.file.descriptor)
        let context = PodContext(uid: uid, info: info, netns: namespace, identity: identity)
        deps.certificates.prefetch(identity)
        _ = try deps.certificates.certificate(for: identity)
        let proxies = try deps.proxies.start(context)
        do {
            try deps.capture.install(in: namespace)
        } catch {
            proxies.closeAll()
            throw AgentError.capture(uid: uid.rawValue, reason: "\(error)")
        }
        pods.withLock { $0[uid] = Pod(context: context, proxies: proxies, enrolledAt: .now) }
        deps.metrics.proxiesStarted.increment()
        updateGauges()
        deps.logger.info("pods", "pod enrolled", [
            LogField("uid", uid.rawValue), LogField("workload", "\(info.namespace)/\(info.name)"),
            LogField("identity", identity.uri), LogField("netns", "\(namespace.identity)"),
        ])
    }

    public func keep(_ uid: PodUID) {}

    public func remove(_ uid: PodUID) {
        guard let pod = pods.withLock({ $0.removeValue(forKey: uid) }) else { return }
        pod.proxies.stopAccepting()
        pod.proxies.closeAll()
        var fields = [LogField("uid", uid.rawValue), LogField("workload", "\(pod.context.info.namespace)/\(pod.context.info.name)")]
        do {
            try deps.capture.remove(from: pod.context.netns)
        } catch {
            // The namespace is usually gone with the pod; nothing is left to redirect then.
            fields.append(LogField("capture", "\(error)"))
        }
        if !pods.withLock({ $0.values.contains { $0.context.identity == pod.context.identity } }) {
            deps.certificates.forget(pod.context.identity)
        }
        deps.metrics.proxiesStopped.increment()
        updateGauges()
        deps.logger.info("pods", "pod removed", fields)
    }

    public func snapshotComplete() {
        let first = snapshots.add(1, ordering: .acquiringAndReleasing).newValue == 1
        if first { removeLeftovers() }
    }

    // MARK: - Drain

    /// Stops taking new pods and closes every pod's listeners; connections keep running.
    /// Capture rules stay: a Zest started next takes the pods over (or finds them at start).
    public func stopAccepting() {
        draining.store(true, ordering: .releasing)
        for pod in current.values {
            pod.proxies.stopAccepting()
            pod.proxies.goAway()
        }
    }

    /// Open connections over every pod.
    public var openConnections: Int { current.values.reduce(0) { $0 + $1.proxies.connections.total } }

    /// Closes every pod's remaining connections (end of the drain).
    public func closeAll() {
        for pod in current.values { pod.proxies.closeAll() }
    }

    /// Pending pods (retried by the ZDS client) for the gauge.
    public func setPending(_ count: Int) {
        deps.metrics.pendingProxies.set(Int64(count))
    }

    private func updateGauges() {
        deps.metrics.activeProxies.set(Int64(pods.withLock { $0.count }))
    }

    /// Removes Zest's tables from named namespaces that no served pod lives in: after a crash
    /// or for pods deleted while Zest was down, so no pod stays redirected to dead listeners.
    private func removeLeftovers() {
        let served = Set(current.values.map(\.context.netns.identity))
        var others: [NetNamespace] = []
        for path in NetNamespace.namedPaths(in: deps.namespaceDirectory) {
            guard let ns = try? NetNamespace(path: path), !served.contains(ns.identity) else { continue }
            others.append(ns)
        }
        for result in deps.capture.removeLeftovers(in: others) {
            switch result.outcome {
            case .removed:
                deps.logger.warn("pods", "removed capture rules left in a namespace Zest does not serve",
                                 [LogField("netns", result.namespace)])
            case .failed(let why):
                deps.logger.warn("pods", "could not check a namespace for leftover capture rules",
                                 [LogField("netns", result.namespace), LogField("error", why)])
            case .nothingFound:
                break
            }
        }
    }
}
