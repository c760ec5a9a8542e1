import ZestCore
import ZestHBONE
import ZestPolicy
import ZestReactor
import ZestTelemetry

/// An open connection a pod's worker tracks, so policy changes, drain and stop can reach it.
protocol ProxiedConnection: AnyObject {
    /// Inbound: the request that was authorized, re-checked when policies change. Nil outbound.
    var authorization: AuthorizationRequest? { get }
    /// Closes the connection with RST now, counting and logging `reason`.
    func terminate(reason: String)
}

/// One pod's proxies on one worker: its three listeners, its outbound HBONE pool, and the
/// connections it accepted. Everything here runs on the worker's loop thread.
final class PodWorker: TimerHandler {
    unowned(unsafe) let loop: EventLoop
    let context: PodContext
    let shard: TrafficShard
    var counters = PodProxyCounters()
    private var reader: MeshStateReader
    private var seenGeneration: UInt64
    private(set) lazy var pool = HBONEOutboundPool(
        loop: loop, tls: context.clientTLS.context, settings: context.settings.hboneClient
    ) { [context] destination, source in
        (try context.network.connect(to: destination, from: source.map { SocketAddress(ip: $0, port: 0) }), .wouldBlock)
    }
    private var acceptors: [Acceptor] = []
    /// Each listener's own address, for the outbound loop guard.
    private(set) var outboundListenAddresses: Set<SocketAddress> = []
    private var connections: [ObjectIdentifier: ProxiedConnection] = [:]
    private var hboneServers: [ObjectIdentifier: InboundHBONEHandler] = [:]
    private var policyTimer: TimerID?
    private var drainTimer: TimerID?
    private(set) var stopped = false

    /// Adopts this worker's listeners (already bound in the pod's namespace) and starts accepting.
    init(loop: EventLoop, context: PodContext, listeners: [(port: UInt16, descriptor: FileDescriptor)]) throws {
        self.loop = loop
        self.context = context
        shard = context.metrics.makeShard()
        reader = MeshStateReader(context.mesh)
        seenGeneration = context.mesh.generation
        let ports = context.settings.ports
        for l in listeners {
            let socket = ListeningSocket(adopting: l.descriptor)
            if l.port == ports.outbound, let a = try? socket.localAddress() { outboundListenAddresses.insert(a) }
            let acceptor: Acceptor
            switch l.port {
            case ports.outbound:
                acceptor = try Acceptor(loop: loop, listener: socket) { [unowned self] s in self.acceptOutbound(s) }
            case ports.inboundPlaintext:
                acceptor = try Acceptor(loop: loop, listener: socket) { [unowned self] s in self.acceptPlaintext(s) }
            default:
                acceptor = try Acceptor(loop: loop, listener: socket) { [unowned self] s in self.acceptHBONE(s) }
            }
            acceptors.append(acceptor)
        }
        policyTimer = loop.schedule(after: context.settings.policyCheckInterval, self)
    }

    /// The newest mesh snapshot (lock-free unless a new one was published).
    func mesh() -> MeshState { reader.current() }

    /// This pod as a mesh workload (the snapshot's entry, else one built from enrollment).
    func podWorkload(in state: MeshState) -> Workload {
        state.workload(uid: context.pod.uid) ?? context.pod.fallbackWorkload
    }

    func track(_ c: ProxiedConnection) {
        connections[ObjectIdentifier(c)] = c
        counters.open += 1
    }

    func untrack(_ c: ProxiedConnection) {
        if connections.removeValue(forKey: ObjectIdentifier(c)) != nil { counters.open -= 1 }
    }

    func trackServer(_ h: InboundHBONEHandler) { hboneServers[ObjectIdentifier(h)] = h }
    func untrackServer(_ h: InboundHBONEHandler) { hboneServers.removeValue(forKey: ObjectIdentifier(h)) }

    // MARK: Policy changes

    func timerFired(_ timer: TimerID) {
        if timer == drainTimer {
            drainTimer = nil
            closeEverything(reason: "connection closed due to connection drain")
            return
        }
        guard timer == policyTimer else { return }
        policyTimer = nil
        if context.mesh.generation != seenGeneration { reauthorize() }
        if !stopped { policyTimer = loop.schedule(after: context.settings.policyCheckInterval, self) }
    }

    /// Re-runs authorization for every open inbound connection against the newest snapshot
    /// and closes those it now denies (ARCHITECTURE.md §8).
    func reauthorize() {
        seenGeneration = context.mesh.generation
        let state = mesh()
        let me = podWorkload(in: state)
        for c in Array(connections.values) {
            guard let request = c.authorization else { continue }
            let decision = state.policies.authorize(request, workload: me)
            guard !decision.allowed else { continue }
            counters.closedByPolicyChange += 1
            context.logger.info("proxy", "closing a connection the new policy denies", [
                LogField("pod", "\(context.pod.namespace)/\(context.pod.name)"),
                LogField("src.addr", "\(request.source)"), LogField("dst.addr", "\(request.destination)"),
                LogField("policy", decision.decidingPolicy.map { "\($0)" } ?? "\(decision)"),
            ])
            c.terminate(reason: "policy change: \(decision)")
        }
    }

    // MARK: Drain and stop

    /// Stops accepting at once (taking what already waits in the accept queues), sends GOAWAY
    /// to HBONE peers, and closes what is still open when `deadline` passes.
    func drain(deadline: Duration) {
        // Connections already queued are ours to serve: closing over them would reset them.
        for a in acceptors { a.closeTakingQueued() }
        acceptors.removeAll()
        for h in hboneServers.values { h.connection?.drain() }
        pool.drain()
        if drainTimer == nil { drainTimer = loop.schedule(after: deadline, self) }
    }

    /// Closes listeners and every connection now (pod removal).
    func stop() {
        closeEverything(reason: "the pod was removed")
        pool.close()
        stopped = true
        if let t = policyTimer { loop.cancel(t) }
        policyTimer = nil
    }

    private func closeListeners() {
        for a in acceptors { a.close() }
        acceptors.removeAll()
    }

    private func closeEverything(reason: String) {
        closeListeners()
        if let t = drainTimer { loop.cancel(t) }
        drainTimer = nil
        for c in Array(connections.values) {
            counters.closedByShutdown += 1
            c.terminate(reason: reason)
        }
        for h in Array(hboneServers.values) { h.close() }
        pool.drain()
    }

    var snapshot: PodProxyCounters { counters }
}
