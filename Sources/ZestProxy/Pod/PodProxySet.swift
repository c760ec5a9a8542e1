import Dispatch
import Glibc
import Synchronization
import ZestCore
import ZestIdentity
import ZestPolicy
import ZestReactor
import ZestRedirect
import ZestTLS
import ZestTelemetry

/// The proxies of one enrolled pod, on the node's shared worker group: on every worker, one
/// `SO_REUSEPORT` listener per port opened inside the pod's network namespace on `[::]` (both
/// families) —
/// 15001 (outbound), 15006 (inbound plaintext), 15008 (inbound HBONE with the pod's
/// certificate) — and one outbound HBONE pool presenting the pod's identity.
///
/// How the node agent uses it (on its control thread, never on a worker):
///
/// ```swift
/// let workers = try WorkerGroup { _ in }                      // once per node
/// let netns = try NetnsThread()                               // once per node
/// // per enrolled pod (after PodCapture.install for its namespace):
/// let pod = PodDescription(uid: "cluster//Pod/shop/web-1", name: "web-1", namespace: "shop",
///                          serviceAccount: "web", addresses: [IPAddress("10.0.1.2")!])
/// let proxies = try PodProxySet(PodProxySet.Configuration(
///     pod: pod,
///     network: NetnsPodNetwork(thread: netns, namespace: podNamespace),
///     mesh: meshCell, certificates: certificateManager,
///     metrics: registry.traffic, logger: logger), workers: workers)
/// // certificate renewal (CertificateManager onUpdate): try proxies.rotate(to: newCertificate)
/// // policy change: publish on meshCell; open inbound connections are re-checked within
/// //   `settings.policyCheckInterval` (or call proxies.reauthorize() right after publishing)
/// // node drain (SIGTERM): proxies.drain(deadline: .seconds(5)) … then proxies.stop()
/// // pod removal (DelWorkload): proxies.stop(), then PodCapture.remove
/// ```
///
/// The set owns its listeners and connections; the worker group and the namespace thread
/// are shared and outlive it. Every socket it makes in the pod's namespace is marked 0x539.
public final class PodProxySet: Sendable {
    public struct Configuration: Sendable {
        public var pod: PodDescription
        public var network: any PodNetwork
        public var mesh: MeshStateCell
        public var certificates: CertificateManager
        public var metrics: TrafficMetrics
        public var logger: Logger
        public var settings: PodProxySettings
        /// Handshake counters of the pod's inbound (server) and outbound (client) TLS, shared
        /// by the node's pods so telemetry sees every failure.
        public var handshakeCounters: (server: TLSCounters, client: TLSCounters)

        public init(pod: PodDescription, network: any PodNetwork, mesh: MeshStateCell, certificates: CertificateManager,
                    metrics: TrafficMetrics, logger: Logger, settings: PodProxySettings = PodProxySettings(),
                    handshakeCounters: (server: TLSCounters, client: TLSCounters) = (TLSCounters(), TLSCounters())) {
            self.handshakeCounters = handshakeCounters
            self.pod = pod
            self.network = network
            self.mesh = mesh
            self.certificates = certificates
            self.metrics = metrics
            self.logger = logger
            self.settings = settings
        }
    }

    public let pod: PodDescription
    /// The pod's SPIFFE identity (its certificate's URI SAN).
    public let identity: SpiffeID
    private let context: PodContext
    private let group: WorkerGroup
    private let workers = WorkerBoxes()
    private let state = Mutex(Lifecycle.running)

    private enum Lifecycle { case running, draining, stopped }

    private final class WorkerBox: @unchecked Sendable {
        // Touched only on its worker's thread.
        let worker: PodWorker
        init(_ w: PodWorker) { worker = w }
    }

    /// This pod's worker objects by worker index, filled in on each worker's thread.
    private final class WorkerBoxes: Sendable {
        let boxes = Mutex<[Int: WorkerBox]>([:])
    }

    /// Fetches the pod's certificate, opens `workers.count` listeners per port in the pod's
    /// namespace and starts accepting on every worker. Returns once all workers accept.
    /// Throws (leaving nothing open) when the certificate, a listener or a worker fails.
    public init(_ configuration: Configuration, workers group: WorkerGroup) throws {
        pod = configuration.pod
        identity = try configuration.pod.identity()
        let certificate = try configuration.certificates.certificate(for: identity)
        context = PodContext(pod: configuration.pod, identity: identity, network: configuration.network,
                             mesh: configuration.mesh,
                             serverTLS: try TLSContextHolder(role: .server, certificate: certificate,
                                                             counters: configuration.handshakeCounters.server),
                             clientTLS: try TLSContextHolder(role: .client, certificate: certificate,
                                                             counters: configuration.handshakeCounters.client),
                             metrics: configuration.metrics, logger: configuration.logger,
                             settings: configuration.settings)
        self.group = group
        let ports = configuration.settings.ports
        let perWorker: [[(port: UInt16, descriptor: FileDescriptor)]]
        do {
            perWorker = try Self.openListeners(on: .anyV6, ports: ports, workers: group.count, configuration.network)
        } catch RedirectError.socket(call: "socket", address: _, errno: EAFNOSUPPORT) {
            perWorker = try Self.openListeners(on: .anyV4, ports: ports, workers: group.count, configuration.network)
        }
        let failure = Mutex<(any Error)?>(nil)
        let context = self.context
        let listeners = perWorker
        let boxes = self.workers
        onEachWorker { index, loop in
            do {
                let w = try PodWorker(loop: loop, context: context, listeners: listeners[index])
                boxes.boxes.withLock { $0[index] = WorkerBox(w) }
            } catch {
                for l in listeners[index] { ListeningSocket(adopting: l.descriptor).close() }
                failure.withLock { if $0 == nil { $0 = error } }
            }
        }
        if let error = failure.withLock({ $0 }) {
            stop()
            throw error
        }
        configuration.logger.info("proxy", "pod proxies started", [
            LogField("pod", "\(pod.namespace)/\(pod.name)"), LogField("identity", identity.uri),
            LogField("workers", group.count),
        ])
    }

    /// Opens `workers` listeners per port (15001, 15006, 15008) on `ip`, closing all of them
    /// when one fails. `[::]` is dual stack, as ztunnel binds: capture redirects both families
    /// whatever addresses the mesh lists for the pod (it may list none yet, or only IPv4),
    /// so the caller falls back to `0.0.0.0` only where the namespace has no IPv6 at all.
    static func openListeners(on ip: IPAddress, ports: CapturePorts, workers: Int,
                              _ network: any PodNetwork) throws -> [[(port: UInt16, descriptor: FileDescriptor)]] {
        let addresses = [ports.outbound, ports.inboundPlaintext, ports.inboundHBONE].map { SocketAddress(ip: ip, port: $0) }
        var opened: [[(port: UInt16, descriptor: FileDescriptor)]] = []
        do {
            for _ in 0..<workers {
                opened.append([])
                for a in addresses { opened[opened.count - 1].append((a.port, try network.openListener(a))) }
            }
        } catch {
            for list in opened { for l in list { ListeningSocket(adopting: l.descriptor).close() } }
            throw error
        }
        return opened
    }

    /// Counters summed over workers.
    public func counters() -> PodProxyCounters {
        let total = Mutex(PodProxyCounters())
        onEachPodWorker { w in
            let c = w.snapshot
            total.withLock { $0.add(c) }
        }
        return total.withLock { $0 }
    }

    /// Re-authorizes open inbound connections against the newest mesh snapshot now and
    /// closes those it denies (workers also do this on their own within `policyCheckInterval`).
    public func reauthorize() {
        onEachPodWorker { $0.reauthorize() }
    }

    /// Uses `certificate` (a renewal of the pod's identity) for new handshakes; open
    /// connections keep theirs.
    public func rotate(to certificate: WorkloadCertificate) throws(TLSError) {
        try context.serverTLS.rotate(to: certificate)
        try context.clientTLS.rotate(to: certificate)
    }

    /// Graceful drain: listeners close at once, HBONE peers get GOAWAY, connections still open
    /// after `deadline` are closed. Returns at once; `stop()` afterwards ends it early.
    public func drain(deadline: Duration = .seconds(5)) {
        let go = state.withLock { s -> Bool in
            guard s == .running else { return false }
            s = .draining
            return true
        }
        guard go else { return }
        onEachPodWorker { $0.drain(deadline: deadline) }
    }

    /// Immediate stop (pod removal): listeners and every connection close now. Blocks until
    /// every worker has done so. Safe to call more than once.
    public func stop() {
        let go = state.withLock { s -> Bool in
            guard s != .stopped else { return false }
            s = .stopped
            return true
        }
        guard go else { return }
        let boxes = workers
        onEachWorker { index, _ in
            // Released here, on its own thread, after it closed everything it owned.
            guard let box = boxes.boxes.withLock({ $0.removeValue(forKey: index) }) else { return }
            box.worker.stop()
        }
        context.logger.info("proxy", "pod proxies stopped", [LogField("pod", "\(pod.namespace)/\(pod.name)")])
    }

    deinit { stop() }

    /// Runs `body` on every worker's thread that has this pod's worker, waiting (bounded) for each.
    private func onEachPodWorker(_ body: @escaping @Sendable (PodWorker) -> Void) {
        let boxes = workers
        onEachWorker { index, _ in
            guard let box = boxes.boxes.withLock({ $0[index] }) else { return }
            body(box.worker)
        }
    }

    private func onEachWorker(_ body: @escaping @Sendable (Int, EventLoop) -> Void) {
        let done = DispatchSemaphore(value: 0)
        var submitted = 0
        for i in 0..<group.count where group.handles[i].isRunning {
            submitted += 1
            group.execute(onWorker: i) { loop in
                body(i, loop)
                done.signal()
            }
        }
        for _ in 0..<submitted { _ = done.wait(timeout: .now() + 5) }
    }
}
