import Synchronization

/// A monotonically increasing counter, safe to bump from any thread (atomic add).
/// For control-plane events; the data path uses `ConnectionCounters` instead.
public final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)

    public init() {}

    public func increment(by n: UInt64 = 1) {
        value.wrappingAdd(n, ordering: .relaxed)
    }

    public var current: UInt64 { value.load(ordering: .relaxed) }
}

/// A value that goes up and down, safe to set from any thread.
public final class Gauge: Sendable {
    private let value = Atomic<Int64>(0)

    public init() {}

    public func set(_ v: Int64) {
        value.store(v, ordering: .relaxed)
    }

    public func add(_ n: Int64) {
        value.wrappingAdd(n, ordering: .relaxed)
    }

    public var current: Int64 { value.load(ordering: .relaxed) }
}

/// In-pod enrollment metrics, named exactly as ztunnel's (`src/inpod/metrics.rs`, no `istio_` prefix).
public final class WorkloadManagerMetrics: MetricsCollector {
    /// Pods whose proxies are running.
    public let activeProxies = Gauge()
    /// Pods enrolled but whose proxies could not be started yet (retried).
    public let pendingProxies = Gauge()
    public let proxiesStarted = Counter()
    public let proxiesStopped = Counter()

    public init() {}

    public func collect(into w: inout PrometheusWriter) {
        w.family("workload_manager_active_proxy_count", help: "Pods with running in-pod proxies", type: .gauge)
        w.sample("workload_manager_active_proxy_count", activeProxies.current)
        w.family("workload_manager_pending_proxy_count", help: "Pods enrolled whose proxies are waiting to start", type: .gauge)
        w.sample("workload_manager_pending_proxy_count", pendingProxies.current)
        w.family("workload_manager_proxies_started_total", help: "In-pod proxies started", type: .counter)
        w.sample("workload_manager_proxies_started_total", proxiesStarted.current)
        w.family("workload_manager_proxies_stopped_total", help: "In-pod proxies stopped", type: .counter)
        w.sample("workload_manager_proxies_stopped_total", proxiesStopped.current)
    }
}

/// Why a TLS handshake failed; the `reason` label of `tls_handshake_failures_total`.
public enum TLSHandshakeFailureReason: String, CaseIterable, Sendable {
    /// The peer did not finish the handshake before the deadline.
    case timeout
    /// The peer closed or reset the connection during the handshake.
    case peerClosed = "peer_closed"
    /// Protocol violation: wrong version, no shared cipher, bad record, missing ALPN `h2`.
    case protocolError = "protocol_error"
    /// The peer's chain did not verify against our roots (or had expired).
    case certificateInvalid = "certificate_invalid"
    /// The client sent no certificate (HBONE requires one).
    case noPeerCertificate = "no_peer_certificate"
    /// The peer's SPIFFE identity was not one we expected, or had a foreign trust domain.
    case identityMismatch = "identity_mismatch"
    /// We had no certificate for the local identity yet.
    case noLocalCertificate = "no_local_certificate"
    case other
}

/// TLS handshake failures by reporter (destination = we were the server, source = the client)
/// and reason. Named like ztunnel's non-Istio metrics: subsystem prefix, `_total`, no `istio_`.
public final class TLSHandshakeMetrics: MetricsCollector {
    private let counters: [TLSHandshakeFailureReason: (source: Counter, destination: Counter)]

    public init() {
        var c: [TLSHandshakeFailureReason: (source: Counter, destination: Counter)] = [:]
        for r in TLSHandshakeFailureReason.allCases { c[r] = (Counter(), Counter()) }
        counters = c
    }

    /// Counts one failed handshake. Lock-free: an atomic add on a counter made at start.
    public func failed(_ reason: TLSHandshakeFailureReason, reporter: TrafficLabels.Reporter) {
        let pair = counters[reason]!
        (reporter == .source ? pair.source : pair.destination).increment()
    }

    public func count(_ reason: TLSHandshakeFailureReason, reporter: TrafficLabels.Reporter) -> UInt64 {
        let pair = counters[reason]!
        return (reporter == .source ? pair.source : pair.destination).current
    }

    public func collect(into w: inout PrometheusWriter) {
        let name = "tls_handshake_failures_total"
        w.family(name, help: "TLS handshakes that failed, by reporter and reason", type: .counter)
        for r in TLSHandshakeFailureReason.allCases {
            for rep in [TrafficLabels.Reporter.source, .destination] {
                w.sample(name, labels: [("reporter", rep.rawValue), ("reason", r.rawValue)], count(r, reporter: rep))
            }
        }
    }
}

/// `istio_build{component, tag}` = 1, as ztunnel reports its version. `component` stays
/// `ztunnel` so dashboards that select on it find Zest.
public struct BuildInfo: MetricsCollector {
    public let tag: String

    public init(tag: String) {
        self.tag = tag
    }

    public func collect(into w: inout PrometheusWriter) {
        w.family("istio_build", help: "Istio component build info", type: .gauge)
        w.sample("istio_build", labels: [("component", "ztunnel"), ("tag", tag)], UInt64(1))
    }
}
