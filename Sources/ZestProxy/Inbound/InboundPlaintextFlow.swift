import ZestCore
import ZestPolicy
import ZestReactor
import ZestTelemetry

/// Port 15006: plaintext connections to the pod, captured on the way in. Authorized with no
/// peer identity (so STRICT mTLS and principal-based rules reject them), then relayed to the
/// app from the client's own address.
extension PodWorker {
    func acceptPlaintext(_ client: Socket) {
        counters.inboundPlaintextAccepted += 1
        guard let peer = try? client.peerAddress().unmapped, let local = try? client.localAddress().unmapped else {
            client.closeWithReset()
            return
        }
        let destination = client.originalDestination() ?? local
        if context.settings.ports.loopPorts.contains(destination.port) {
            context.accessLog.recordEarlyFailure(source: peer, destination: destination, direction: .inbound,
                                                 error: "port \(destination.port) is a Zest port; forwarding would loop")
            client.closeWithReset()
            return
        }
        let state = mesh()
        let me = podWorkload(in: state)
        let source = state.workload(at: NetworkAddress(network: me.network, ip: peer.ip))
        let request = AuthorizationRequest(peer: nil, source: peer.ip, destination: destination)
        let decision = state.policies.authorize(request, workload: me)
        var entry = AccessLogEntry(source: peer, destination: destination, direction: .inbound)
        entry.sourceWorkload = source?.name
        entry.sourceNamespace = source?.namespace
        entry.destinationWorkload = me.name
        entry.destinationNamespace = me.namespace
        guard decision.allowed else {
            counters.inboundPlaintextDenied += 1
            recordDenied(decision, source: source, peer: nil, me: me, entry: entry)
            client.closeWithReset()
            return
        }
        let labels = TrafficLabels.connection(reporter: .destination, source: source, sourcePrincipal: nil,
                                              destination: me, destinationPrincipal: context.identity, service: nil,
                                              mutualTLS: false)
        do {
            let upstream = try context.network.connect(to: destination, from: spoofedSource(for: peer, to: destination))
            _ = try ProxiedRelay(worker: self, client: client, upstream: upstream, labels: labels, entry: entry,
                                 authorization: request)
        } catch {
            context.accessLog.recordEarlyFailure(source: peer, destination: destination, direction: .inbound,
                                                 error: "connect to the app failed: \(error)")
            client.closeWithReset()
        }
    }

    /// The address the upstream socket binds so the app sees the real client: the client's IP
    /// (port 0), unless the pod is calling itself (ZTUNNEL-REFERENCE.md §4.6).
    func spoofedSource(for peer: SocketAddress, to destination: SocketAddress) -> SocketAddress? {
        if peer.ip == destination.ip || peer.ip.isLoopback || peer.ip.isIPv4 != destination.ip.isIPv4 { return nil }
        return SocketAddress(ip: peer.ip, port: 0)
    }

    /// Counts a denied connection in Istio's metrics (`response_flags="DENY"`) and logs the
    /// access line naming the policy that decided.
    func recordDenied(_ decision: AuthorizationDecision, source: Workload?, peer: SpiffeID?, me: Workload,
                      entry: AccessLogEntry) {
        let labels = TrafficLabels.connection(reporter: .destination, source: source, sourcePrincipal: peer,
                                              destination: me, destinationPrincipal: context.identity, service: nil,
                                              mutualTLS: peer != nil, flags: "DENY")
        let telemetry = ConnectionTelemetry(shard: shard, labels: labels)
        var e = entry
        e.error = "authorization denied: \(decision)"
        telemetry.close(context.accessLog, e)
        context.logger.info("proxy", "connection denied by policy", [
            LogField("pod", "\(context.pod.namespace)/\(context.pod.name)"),
            LogField("src.addr", "\(entry.sourceAddress)"), LogField("dst.addr", "\(entry.destinationAddress)"),
            LogField("policy", decision.decidingPolicy.map { "\($0)" } ?? "none"),
            LogField("reason", "\(decision)"),
        ])
    }
}
