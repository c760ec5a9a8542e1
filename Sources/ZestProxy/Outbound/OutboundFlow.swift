import ZestCore
import ZestHBONE
import ZestPolicy
import ZestReactor
import ZestTelemetry

/// Port 15001: where the pod's own outgoing connections arrive after capture. Finds where the
/// app meant to go, refuses loops, asks `route()` and executes its decision.
extension PodWorker {
    func acceptOutbound(_ client: Socket) {
        counters.outboundAccepted += 1
        guard let peer = try? client.peerAddress().unmapped, let local = try? client.localAddress().unmapped else {
            client.closeWithReset()
            return
        }
        let destination = client.originalDestination() ?? local
        if isLoop(destination, local: local) {
            counters.outboundRefused += 1
            context.accessLog.recordEarlyFailure(source: peer, destination: destination, direction: .outbound,
                                                 error: "refused: \(destination) is a Zest listener; forwarding would loop")
            client.closeWithReset()
            return
        }
        let state = mesh()
        let me = podWorkload(in: state)
        let decision = state.route(from: me, to: destination)
        switch decision {
        case .hbone(let route):
            openTunnel(client, peer: peer, destination: destination, route: route, state: state, me: me)
        case .tcp(let address, _), .passthrough(let address):
            relayPlain(client, peer: peer, to: address, state: state, me: me)
        case .failure(let failure):
            counters.outboundRouteFailures += 1
            context.accessLog.recordEarlyFailure(source: peer, destination: destination, direction: .outbound,
                                                 error: "\(failure)")
            client.closeWithReset()
        }
    }

    /// A connection aimed at one of Zest's own ports on this pod, or straight at the outbound
    /// listener (whose "original destination" is then its own address, C-INTEROP.md §4.6).
    private func isLoop(_ destination: SocketAddress, local: SocketAddress) -> Bool {
        if destination == local || outboundListenAddresses.contains(destination) { return true }
        guard context.settings.ports.loopPorts.contains(destination.port) else { return false }
        return destination.ip.isLoopback || destination.ip.isUnspecified || context.pod.addresses.contains(destination.ip)
    }

    private func openTunnel(_ client: Socket, peer: SocketAddress, destination: SocketAddress, route: HBONERoute,
                            state: MeshState, me: Workload) {
        let target = state.workload(uid: route.nextHopUID)
        let finalTarget = route.viaWaypoint ? state.workload(at: NetworkAddress(network: me.network, ip: destination.ip)) : target
        let service = route.service.flatMap { state.service(named: $0) }
        let labels = TrafficLabels.connection(reporter: .source, source: me, sourcePrincipal: context.identity,
                                              destination: finalTarget ?? target, destinationPrincipal: target?.identity,
                                              service: service, mutualTLS: true)
        var entry = AccessLogEntry(source: peer, destination: route.dial, direction: .outbound)
        entry.sourceWorkload = me.name
        entry.sourceNamespace = me.namespace
        entry.sourceIdentity = context.identity
        entry.destinationHBONEAddress = route.authority
        entry.destinationService = service?.hostname
        entry.destinationWorkload = target?.name
        entry.destinationNamespace = target?.namespace
        entry.destinationIdentity = target?.identity
        let tunnel: OutboundTunnel
        do {
            tunnel = try OutboundTunnel(worker: self, client: client, labels: labels, entry: entry)
        } catch {
            client.closeWithReset()
            return
        }
        counters.outboundHBONE += 1
        let tls = context.clientTLS.context
        if pool.tls !== tls { pool.tls = tls }
        let key = HBONEPoolKey(sourceIdentity: context.identity, destinationIdentities: Set(route.expectedIdentities),
                               sourceIP: peer.ip, destination: route.dial)
        let request = ConnectRequest(target: route.authority, forwardedFor: peer, forwardedHost: service?.hostname,
                                     baggage: Baggage.describe(me))
        pool.openTunnel(key, request, for: tunnel.endpoint)
    }

    private func relayPlain(_ client: Socket, peer: SocketAddress, to address: SocketAddress, state: MeshState, me: Workload) {
        let target = state.workload(at: NetworkAddress(network: me.network, ip: address.ip))
        let labels = TrafficLabels.connection(reporter: .source, source: me, sourcePrincipal: context.identity,
                                              destination: target, destinationPrincipal: nil, service: nil, mutualTLS: false)
        var entry = AccessLogEntry(source: peer, destination: address, direction: .outbound)
        entry.sourceWorkload = me.name
        entry.sourceNamespace = me.namespace
        entry.destinationWorkload = target?.name
        entry.destinationNamespace = target?.namespace
        do {
            let upstream = try context.network.connect(to: address, from: nil)
            _ = try ProxiedRelay(worker: self, client: client, upstream: upstream, labels: labels, entry: entry,
                                 authorization: nil)
            counters.outboundPassthrough += 1
        } catch {
            counters.outboundRouteFailures += 1
            context.accessLog.recordEarlyFailure(source: peer, destination: address, direction: .outbound,
                                                 error: "passthrough connect failed: \(error)")
            client.closeWithReset()
        }
    }
}

/// One outbound connection carried in an HBONE tunnel: the app's socket on one side, a
/// CONNECT stream of a pooled connection on the other.
final class OutboundTunnel: ProxiedConnection {
    private unowned(unsafe) let worker: PodWorker
    private(set) var endpoint: TunnelEndpoint!
    private var telemetry: ConnectionTelemetry
    private var entry: AccessLogEntry
    private var closeReason: String?
    var authorization: AuthorizationRequest? { nil }

    init(worker: PodWorker, client: Socket, labels: TrafficLabels, entry: AccessLogEntry) throws {
        self.worker = worker
        self.entry = entry
        telemetry = ConnectionTelemetry(shard: worker.shard, labels: labels)
        endpoint = try TunnelEndpoint(loop: worker.loop, socket: client, connecting: false, onBytes: { [unowned self] from, to in
            telemetry.received(from)
            telemetry.sent(to)
            self.worker.counters.bytesFromApp &+= UInt64(from)
            self.worker.counters.bytesToApp &+= UInt64(to)
        }, onClose: { [unowned self] e in self.closed(e) })
        worker.track(self)
    }

    private func closed(_ e: TunnelEndpoint) {
        if !e.didOpen {
            worker.counters.outboundTunnelFailures += 1
            entry.error = closeReason ?? e.failure.map { "\($0)" } ?? "the HBONE connection to \(entry.destinationAddress) failed"
        } else if let reason = closeReason ?? e.failure.map({ "\($0)" }) {
            entry.error = reason
        }
        telemetry.close(worker.context.accessLog, entry)
        worker.untrack(self)
    }

    func terminate(reason: String) {
        closeReason = reason
        endpoint.close(reset: true)
    }
}
