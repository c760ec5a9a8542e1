import Synchronization
import ZestCore
import ZestIdentity
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestRedirect
import ZestTLS
import ZestTelemetry

/// The node agent's pods: what enrollment asks for, carried out. For each pod it opens the
/// listeners (a `PodProxySet`) first and then installs the capture rules, so no new
/// connection is ever redirected to a port nobody listens on; removal goes the other way
/// round. Implements `EnrollmentDelegate`: its calls come from the ZDS client's thread.
public final class PodRegistry: EnrollmentDelegate {
    /// One served pod.
    public struct Pod: Sendable {
        public let uid: PodUID
        public let info: WorkloadInfo
        public let netns: NetNamespace
        public let proxies: PodProxySet
    }

    public struct Dependencies: Sendable {
        public var capture: PodCapture
        public var netns: NetnsThread
        public var workers: WorkerGroup
        public var mesh: MeshStateCell
        public var certificates: CertificateManager
        public var metrics: MetricsRegistry
        public var logger: Logger
        public var trustDomain: String
        /// Directory of named network namespaces searched for leftover capture tables once
        /// the first snapshot is in (Kubernetes and `ip netns` keep pod namespaces there).
        public var namespaceDirectory: String
        public var settings = PodProxySettings()
    }

    private let deps: Dependencies
    private let handshakeCounters: (server: TLSCounters, client: TLSCounters)
    private let pods = Mutex<[PodUID: Pod]>([:])
    private let snapshots = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)

    public init(_ dependencies: Dependencies) {
        deps = dependencies
        handshakeCounters = HandshakeFailureMetrics.counters(dependencies.metrics.tlsHandshakes)
    }

    /// A copy of the pods served now.
    public var current: [PodUID: Pod] { pods.withLock { $0 } }

    // MARK: - EnrollmentDelegate

    public func enroll(_ uid: PodUID, info: WorkloadInfo, netns: NetNamespaceHandle) throws {
        guard !draining.load(ordering: .acquiring) else { throw AgentError.draining }
        let namespace = try NetNamespace(duplicating: netns.file.descriptor)
        let description = describe(info)
        let identity: SpiffeID
        do {
            identity = try description.identity()
        } catch {
            throw AgentError.invalidIdentity(info: "\(info)", trustDomain: deps.trustDomain)
        }
        deps.certificates.prefetch(identity)
        let proxies = try PodProxySet(PodProxySet.Configuration(
            pod: description, network: NetnsPodNetwork(thread: deps.netns, namespace: namespace),
            mesh: deps.mesh, certificates: deps.certificates, metrics: deps.metrics.traffic,
            logger: deps.logger, settings: deps.settings, handshakeCounters: handshakeCounters),
            workers: deps.workers)
        do {
            try deps.capture.install(in: namespace)
        } catch {
            proxies.stop()
            throw AgentError.capture(uid: uid.rawValue, reason: "\(error)")
        }
        pods.withLock { $0[uid] = Pod(uid: uid, info: info, netns: namespace, proxies: proxies) }
        deps.metrics.workloadManager.proxiesStarted.increment()
        updateGauges()
        deps.logger.info("pods", "pod enrolled", [
            LogField("uid", uid.rawValue), LogField("workload", "\(info.namespace)/\(info.name)"),
            LogField("identity", identity.uri), LogField("addresses", description.addresses.map { "\($0)" }.joined(separator: ",")),
            LogField("netns", "\(namespace.identity)"),
        ])
    }

    public func keep(_ uid: PodUID) {}

    public func remove(_ uid: PodUID) {
        guard let pod = pods.withLock({ $0.removeValue(forKey: uid) }) else { return }
        pod.proxies.stop()
        var fields = [LogField("uid", uid.rawValue), LogField("workload", "\(pod.info.namespace)/\(pod.info.name)")]
        do {
            try deps.capture.remove(from: pod.netns)
        } catch {
            // The namespace usually went with the pod; nothing is left to redirect then.
            fields.append(LogField("capture", "\(error)"))
        }
        if !pods.withLock({ $0.values.contains { $0.proxies.identity == pod.proxies.identity } }) {
            deps.certificates.forget(pod.proxies.identity)
        }
        deps.metrics.workloadManager.proxiesStopped.increment()
        updateGauges()
        deps.logger.info("pods", "pod removed", fields)
    }

    public func snapshotComplete() {
        if snapshots.add(1, ordering: .acquiringAndReleasing).newValue == 1 { removeLeftovers() }
    }

    // MARK: - Certificates, drain

    /// Hands a renewed certificate to every pod with that identity.
    public func rotate(_ identity: SpiffeID, to certificate: WorkloadCertificate) {
        for pod in current.values where pod.proxies.identity == identity {
            do {
                try pod.proxies.rotate(to: certificate)
            } catch {
                deps.logger.error("pods", "certificate rotation failed; the old certificate stays in use",
                                  [LogField("identity", identity.uri), LogField("error", "\(error)")])
            }
        }
    }

    /// Stops taking new pods and drains every pod's proxies: listeners close at once, HBONE
    /// peers get GOAWAY, connections still open at `deadline` are closed. Capture rules stay:
    /// the Zest started next takes the pods over.
    public func drain(deadline: Duration) {
        draining.store(true, ordering: .releasing)
        for pod in current.values { pod.proxies.drain(deadline: deadline) }
    }

    /// Open connections over every pod.
    public var openConnections: Int { current.values.reduce(0) { $0 + $1.proxies.counters().open } }

    /// Closes every pod's proxies now (end of the drain).
    public func stopAll() {
        for pod in current.values { pod.proxies.stop() }
    }

    /// Pending pods (retried by the ZDS client) for the gauge.
    public func setPending(_ count: Int) {
        deps.metrics.workloadManager.pendingProxies.set(Int64(count))
    }

    private func updateGauges() {
        deps.metrics.workloadManager.activeProxies.set(Int64(pods.withLock { $0.count }))
    }

    /// The pod as the proxies need it: its mesh workload (found by namespace, service account
    /// and name among the local configuration) supplies the uid and addresses.
    private func describe(_ info: WorkloadInfo) -> PodDescription {
        let mesh = deps.mesh.load()
        let w = mesh.workloads.first {
            $0.namespace == info.namespace && $0.serviceAccount == info.serviceAccount && $0.name == info.name
        }
        return PodDescription(uid: w?.uid ?? "\(info.namespace)/\(info.name)", name: info.name, namespace: info.namespace,
                              serviceAccount: info.serviceAccount, trustDomain: w?.trustDomain ?? deps.trustDomain,
                              addresses: w?.addresses ?? [])
    }

    /// Removes Zest's tables from named namespaces no served pod lives in: after a crash or
    /// for pods deleted while Zest was down, so no pod stays redirected to dead listeners.
    private func removeLeftovers() {
        let served = Set(current.values.map(\.netns.identity))
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
