import ZestCore
import ZestHBONE
import ZestPolicy
import ZestReactor
import ZestTelemetry

/// Port 15008: mTLS with the pod's own certificate (chosen by which pod's listener accepted),
/// then one CONNECT per tunnel, authorized with the peer's identity, its address and the
/// target port, and connected to the app from the peer's address.
extension PodWorker {
    func acceptHBONE(_ socket: Socket) {
        guard let peer = try? socket.peerAddress().unmapped, let local = try? socket.localAddress().unmapped else {
            socket.closeWithReset()
            return
        }
        counters.inboundHBONEConnections += 1
        var settings = context.settings.hboneServer
        settings.localAddress = local.ip
        let handler = InboundHBONEHandler(worker: self, peer: peer, local: local)
        do {
            handler.connection = try HBONEInboundConnection(loop: loop, socket: socket, tls: context.serverTLS.context,
                                                            settings: settings, delegate: handler) { [unowned self] _, _ in
                self.untrackServer(handler)
            }
            trackServer(handler)
        } catch {
            socket.closeWithReset()
        }
    }
}

/// The server side of one accepted HBONE connection of a pod: authorizes each CONNECT and
/// starts its tunnel.
final class InboundHBONEHandler: HBONEServerDelegate {
    private unowned(unsafe) let worker: PodWorker
    let peer: SocketAddress
    let local: SocketAddress
    var connection: HBONEInboundConnection?

    init(worker: PodWorker, peer: SocketAddress, local: SocketAddress) {
        self.worker = worker
        self.peer = peer
        self.local = local
    }

    func close() { connection?.close() }

    func hboneServer(_ connection: HBONEConnection, authorize request: ConnectRequest) -> String? {
        let state = worker.mesh()
        let me = worker.podWorkload(in: state)
        let auth = AuthorizationRequest(peer: connection.peerIdentity, source: peer.ip, destination: request.target)
        let decision = state.policies.authorize(auth, workload: me)
        guard !decision.allowed else { return nil }
        worker.counters.inboundTunnelsDenied += 1
        let source = state.workload(at: NetworkAddress(network: me.network, ip: peer.ip))
        var entry = AccessLogEntry(source: peer, destination: request.target, direction: .inbound)
        entry.sourceIdentity = connection.peerIdentity
        entry.sourceWorkload = source?.name
        entry.sourceNamespace = source?.namespace
        entry.destinationWorkload = me.name
        entry.destinationNamespace = me.namespace
        entry.destinationIdentity = worker.context.identity
        worker.recordDenied(decision, source: source, peer: connection.peerIdentity, me: me, entry: entry)
        return decision.decidingPolicy.map { "\($0)" } ?? "\(decision)"
    }

    func hboneServer(_ connection: HBONEConnection, didReceive tunnel: HBONETunnel) {
        let target = tunnel.request.target
        let state = worker.mesh()
        let me = worker.podWorkload(in: state)
        let source = state.workload(at: NetworkAddress(network: me.network, ip: peer.ip))
        let auth = AuthorizationRequest(peer: connection.peerIdentity, source: peer.ip, destination: target)
        let service = tunnel.request.forwardedHost.flatMap { host in state.services.first { $0.hostname == host } }
        let labels = TrafficLabels.connection(reporter: .destination, source: source, sourcePrincipal: connection.peerIdentity,
                                              destination: me, destinationPrincipal: worker.context.identity,
                                              service: service, mutualTLS: true)
        var entry = AccessLogEntry(source: peer, destination: target, direction: .inbound)
        entry.sourceIdentity = connection.peerIdentity
        entry.sourceWorkload = source?.name
        entry.sourceNamespace = source?.namespace
        entry.destinationHBONEAddress = target
        entry.destinationService = service?.hostname
        entry.destinationWorkload = me.name
        entry.destinationNamespace = me.namespace
        entry.destinationIdentity = worker.context.identity
        do {
            let upstream = try worker.context.network.connect(to: target, from: worker.spoofedSource(for: peer, to: target))
            _ = try InboundTunnel(worker: worker, tunnel: tunnel, upstream: upstream, labels: labels, entry: entry,
                                  authorization: auth)
        } catch {
            worker.counters.inboundUpstreamFailures += 1
            tunnel.reject(.upstreamConnectFailed(target, reason: "\(error)"))
        }
    }
}

/// One CONNECT tunnel served for the pod: the stream on one side, the app connection (made
/// from the client's address) on the other. 200 is sent only once the app accepted.
final class InboundTunnel: ProxiedConnection {
    private unowned(unsafe) let worker: PodWorker
    private var endpoint: TunnelEndpoint!
    private var telemetry: ConnectionTelemetry?
    private let labels: TrafficLabels
    private var entry: AccessLogEntry
    private var closeReason: String?
    let authorization: AuthorizationRequest?

    init(worker: PodWorker, tunnel: HBONETunnel, upstream: Socket, labels: TrafficLabels, entry: AccessLogEntry,
         authorization: AuthorizationRequest) throws {
        self.worker = worker
        self.labels = labels
        self.entry = entry
        self.authorization = authorization
        endpoint = try TunnelEndpoint(loop: worker.loop, socket: upstream, connecting: true, onBytes: { [unowned self] from, to in
            telemetry?.sent(from)
            telemetry?.received(to)
            self.worker.counters.bytesFromApp &+= UInt64(from)
            self.worker.counters.bytesToApp &+= UInt64(to)
        }, onClose: { [unowned self] _ in self.closed() })
        worker.track(self)
        endpoint.onConnected { [unowned self] e, failure in
            if let failure {
                self.worker.counters.inboundUpstreamFailures += 1
                self.closeReason = "connect to the app failed: \(failure)"
                tunnel.reject(.upstreamConnectFailed(entry.destinationAddress, reason: failure))
                e.close(reset: false)
                return
            }
            self.worker.counters.inboundTunnelsOpened += 1
            self.telemetry = ConnectionTelemetry(shard: self.worker.shard, labels: self.labels)
            e.accept(tunnel)
        }
    }

    private func closed() {
        if let reason = closeReason ?? endpoint.failure.map({ "\($0)" }) { entry.error = reason }
        if let telemetry {
            telemetry.close(worker.context.accessLog, entry)
        } else {
            worker.context.accessLog.recordEarlyFailure(source: entry.sourceAddress, destination: entry.destinationAddress,
                                                        direction: .inbound, error: entry.error ?? "closed before opening")
        }
        worker.untrack(self)
    }

    func terminate(reason: String) {
        closeReason = reason
        endpoint.close(reset: true)
    }
}
