import Foundation
import ZestCore
import ZestIdentity
import ZestPolicy
import ZestProxy
import ZestTelemetry

/// The `/config_dump` sections the node agent registers, in ztunnel's key names:
/// `config`, `workloads`, `services`, `policies`, `certificates`, `workloadState`.
enum AgentConfigDump {
    static func register(on admin: AdminService, config: NodeConfig, mesh: MeshStateCell,
                         certificates: CertificateManager, pods: PodRegistry, enrollment: @escaping @Sendable () -> EnrollmentStatus) {
        admin.register(ConfigDumpSection("config") {
            .object(config.rendered.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
        })
        admin.register(ConfigDumpSection("workloads") { .array(mesh.load().workloads.map(workloadJSON)) })
        admin.register(ConfigDumpSection("services") { .array(mesh.load().services.map(serviceJSON)) })
        admin.register(ConfigDumpSection("policies") {
            let set = mesh.load().policies
            return .array(set.policies.map { policyJSON($0) } + set.peerAuthentications.map { .string("\($0)") })
        })
        admin.register(ConfigDumpSection("certificates") {
            .array(certificates.identities.sorted { $0.uri < $1.uri }.map { certificateJSON($0, certificates) })
        })
        admin.register(ConfigDumpSection("workloadState") { workloadStateJSON(pods, enrollment()) })
    }

    static func workloadJSON(_ w: Workload) -> JSONValue {
        .object([
            ("uid", .string(w.uid)), ("name", .string(w.name)), ("namespace", .string(w.namespace)),
            ("serviceAccount", .string(w.serviceAccount)), ("trustDomain", .string(w.trustDomain)),
            ("workloadIps", .array(w.addresses.map { .string("\($0)") })),
            ("protocol", .string(w.tunnelProtocol.rawValue)), ("node", .string(w.node)),
            ("status", .string(w.status.rawValue)),
            ("waypoint", w.waypoint.map { .string("\($0)") } ?? .null),
            ("services", .array(w.services.keys.map { .string("\($0)") }.sorted { $0.compact < $1.compact })),
            ("labels", .object(w.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ])
    }

    static func serviceJSON(_ s: Service) -> JSONValue {
        .object([
            ("name", .string(s.name)), ("namespace", .string(s.namespace)), ("hostname", .string(s.hostname)),
            ("vips", .array(s.vips.map { .string("\($0)") })),
            ("ports", .object(s.ports.sorted { $0.key < $1.key }.map { ("\($0.key)", .int(Int64($0.value))) })),
            ("subjectAltNames", .array(s.subjectAltNames.map { .string($0.uri) })),
            ("endpoints", .array(s.endpoints.map { .string($0.workloadUID) })),
        ])
    }

    static func policyJSON(_ p: AuthorizationPolicy) -> JSONValue {
        .object([
            ("name", .string(p.name)), ("namespace", .string(p.namespace)),
            ("scope", .string(p.scope.rawValue)), ("action", .string(p.action.rawValue)),
            ("dryRun", .bool(p.dryRun)),
            ("rules", .array(p.rules.map { .string("\($0)") })),
        ])
    }

    static func certificateJSON(_ id: SpiffeID, _ manager: CertificateManager) -> JSONValue {
        let state: String
        var chain: [CertificateDump] = []
        var roots: [CertificateDump] = []
        switch manager.status(of: id) {
        case .initializing:
            state = "Initializing"
        case .unavailable(let reason, _):
            state = "Unavailable: \(reason)"
        case .available:
            state = "Available"
            if let c = try? manager.certificate(for: id) {
                chain = ([c.leaf] + c.intermediates).map(dump)
                roots = c.roots.map(dump)
            }
        }
        return IdentityCertificatesDump(identity: id.uri, state: state, chain: chain, roots: roots).json
    }

    private static func dump(_ c: Certificate) -> CertificateDump {
        CertificateDump(pem: c.pem, serialNumber: c.serialNumberHex,
                        validFrom: Int64(c.notBefore.timeIntervalSince1970),
                        expirationTime: Int64(c.notAfter.timeIntervalSince1970))
    }

    /// Per-pod state as ztunnel's `workloadState`: uid → {state, info, netns, connections}.
    static func workloadStateJSON(_ pods: PodRegistry, _ status: EnrollmentStatus) -> JSONValue {
        var members: [(String, JSONValue)] = []
        for (uid, pod) in pods.current.sorted(by: { $0.key < $1.key }) {
            let c = pod.proxies.counters()
            members.append((uid.rawValue, .object([
                ("state", "Up"), ("info", infoJSON(pod.info)),
                ("identity", .string(pod.proxies.identity.uri)),
                ("addresses", .array(pod.proxies.pod.addresses.map { .string("\($0)") })),
                ("netns", .string("\(pod.netns.identity)")),
                ("connections", countersJSON(c)),
            ])))
        }
        for (uid, error) in status.pending.sorted(by: { $0.key < $1.key }) {
            members.append((uid.rawValue, .object([
                ("state", "Pending"), ("info", status.enrolled[uid].map(infoJSON) ?? .null), ("error", .string(error)),
            ])))
        }
        return .object([
            ("connected", .bool(status.connected)), ("snapshotReceived", .bool(status.snapshotReceived)),
            ("lastError", status.lastError.map { .string($0) } ?? .null),
            ("pods", .object(members)),
        ])
    }

    /// Open connections and what the pod's proxies did, by path.
    static func countersJSON(_ c: PodProxyCounters) -> JSONValue {
        let n = { (v: Int) in JSONValue.int(Int64(v)) }
        return .object([
            ("open", n(c.open)),
            ("outbound", .object([("accepted", n(c.outboundAccepted)), ("hbone", n(c.outboundHBONE)),
                                  ("passthrough", n(c.outboundPassthrough)), ("refused", n(c.outboundRefused)),
                                  ("routeFailures", n(c.outboundRouteFailures)), ("tunnelFailures", n(c.outboundTunnelFailures))])),
            ("inboundPlaintext", .object([("accepted", n(c.inboundPlaintextAccepted)), ("denied", n(c.inboundPlaintextDenied))])),
            ("inboundHBONE", .object([("connections", n(c.inboundHBONEConnections)), ("tunnelsOpened", n(c.inboundTunnelsOpened)),
                                      ("tunnelsDenied", n(c.inboundTunnelsDenied)), ("upstreamFailures", n(c.inboundUpstreamFailures))])),
            ("closedByPolicyChange", n(c.closedByPolicyChange)), ("closedByShutdown", n(c.closedByShutdown)),
            ("bytesFromApp", .int(Int64(clamping: c.bytesFromApp))), ("bytesToApp", .int(Int64(clamping: c.bytesToApp))),
        ])
    }

    private static func infoJSON(_ info: WorkloadInfo) -> JSONValue {
        .object([("name", .string(info.name)), ("namespace", .string(info.namespace)),
                 ("serviceAccount", .string(info.serviceAccount))])
    }
}
