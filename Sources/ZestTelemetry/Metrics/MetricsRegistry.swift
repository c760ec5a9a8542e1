import Synchronization

/// Every metric Zest exports, rendered in one scrape. Create one per process and hand its
/// parts to the layers that count: `traffic` to the proxy workers, `workloadManager` to
/// enrollment, `tlsHandshakes` to TLS, `bufferPools` to the reactor workers.
public final class MetricsRegistry: Sendable {
    public let traffic = TrafficMetrics()
    public let workloadManager = WorkloadManagerMetrics()
    public let tlsHandshakes = TLSHandshakeMetrics()
    public let bufferPools = BufferPoolMetrics()
    private let collectors: Mutex<[any MetricsCollector]>

    /// `buildTag` is reported as `istio_build{tag=…}`.
    public init(buildTag: String) {
        collectors = Mutex([BuildInfo(tag: buildTag), ProcessMetrics()])
    }

    /// Adds a collector whose families are appended to every scrape.
    public func register(_ collector: any MetricsCollector) {
        collectors.withLock { $0.append(collector) }
    }

    /// The whole scrape in the Prometheus text format 0.0.4.
    public func render() -> String {
        var w = PrometheusWriter()
        traffic.collect(into: &w)
        workloadManager.collect(into: &w)
        tlsHandshakes.collect(into: &w)
        bufferPools.collect(into: &w)
        for c in collectors.withLock({ $0 }) { c.collect(into: &w) }
        return w.text
    }
}
