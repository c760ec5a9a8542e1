import Testing
import Foundation
import ZestCore
import ZestTestSupport
@testable import ZestTelemetry

@Suite struct PrometheusInteropTests {
    @Test(.enabled(if: Tool.enabled("/usr/bin/promtool"), Tool.skipReason("/usr/bin/promtool", package: "prometheus")))
    func promtoolAcceptsALiveScrape() throws {
        let f = try TelemetryFixture()
        let shard = f.registry.traffic.makeShard()
        let c = shard.connection(labels(.destination, from: "orders-api", to: "payments-api"))
        c.opened()
        c.received(4096)
        var odd = labels(.source, from: "weird\"\\name\nx", to: "orders-api")
        odd.responseFlags = "CONNECT"
        shard.connection(odd).opened()
        f.registry.workloadManager.activeProxies.set(3)
        f.registry.tlsHandshakes.failed(.protocolError, reporter: .destination)
        _ = f.registry.bufferPools.register(worker: 0, capacity: 256, bufferSize: 16384)
        let scrape = try httpRequest(port: f.metricsPort, "/metrics")
        #expect(scrape.status == 200)
        let result = try runCommand(["/usr/bin/promtool", "check", "metrics"], input: scrape.body)
        // promtool exits 1 on a parse error and 3 when only lint findings remain. The one
        // finding accepted is the `_count` suffix of ztunnel's two workload_manager gauges,
        // whose names Zest keeps so ztunnel dashboards work.
        #expect(result.status == 0 || result.status == 3, "promtool: \(result.stdout)\(result.stderr)")
        let findings = (result.stdout + result.stderr).split(separator: "\n").map(String.init)
        let accepted = ["workload_manager_active_proxy_count", "workload_manager_pending_proxy_count"].map {
            "\($0) non-histogram and non-summary metrics should not have \"_count\" suffix"
        }
        #expect(findings.allSatisfy { accepted.contains($0.trimmingCharacters(in: .whitespaces)) }, "promtool lint: \(findings)")
    }

    @Test(.enabled(if: Tool.enabled("/usr/bin/prometheus"), Tool.skipReason("/usr/bin/prometheus", package: "prometheus")))
    func realPrometheusAnswersPromQLWithTheGeneratedTraffic() throws {
        let f = try TelemetryFixture()
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(f.metricsPort)", metricsPath: "/stats/prometheus")
        defer { prometheus.stop() }

        let up = waitUntil(timeout: .seconds(60), poll: .milliseconds(250)) {
            prometheus.query(#"up{job="zest"}"#)?.first?.1 == 1
        }
        try #require(up, "Prometheus never scraped Zest; its log:\n\(prometheus.log)")

        // Connections stay open while bytes move: the counters advance before any close.
        let shard = f.registry.traffic.makeShard()
        let orders = shard.connection(labels(.destination, from: "orders-api", to: "payments-api"))
        let frontend = shard.connection(labels(.destination, from: "frontend", to: "payments-api"))
        let reverse = shard.connection(labels(.destination, from: "payments-api", to: "orders-api"))
        for c in [orders, frontend, reverse] { c.opened() }
        let steps = 8
        for _ in 0..<steps {
            orders.received(3_000)
            frontend.received(1_000)
            reverse.received(777)
            Thread.sleep(forTimeInterval: 0.5)  // pacing the generated traffic, not waiting for a result
        }

        let totalQuery = #"sum(istio_tcp_received_bytes_total{destination_workload="payments-api"}) by (source_workload)"#
        var totals: [String: Double] = [:]
        let scraped = waitUntil(timeout: .seconds(30), poll: .milliseconds(250)) {
            totals = Dictionary(uniqueKeysWithValues: (prometheus.query(totalQuery) ?? []).map { ($0.0["source_workload"] ?? "", $0.1) })
            return totals == ["orders-api": Double(3_000 * steps), "frontend": Double(1_000 * steps)]
        }
        #expect(scraped, "Prometheus totals \(totals)")

        let rateQuery = #"sum(rate(istio_tcp_received_bytes_total{destination_workload="payments-api"}[1m])) by (source_workload)"#
        let rates = try #require(prometheus.query(rateQuery), "answer: \(prometheus.lastAnswer)")
        let bySource = Dictionary(uniqueKeysWithValues: rates.map { ($0.0["source_workload"] ?? "", $0.1) })
        #expect(Set(bySource.keys) == ["orders-api", "frontend"])
        #expect(rates.allSatisfy { $0.0.keys.sorted() == ["source_workload"] })
        let o = try #require(bySource["orders-api"]), fr = try #require(bySource["frontend"])
        #expect(o > 0 && fr > 0)
        #expect(o / fr > 2.5 && o / fr < 3.5, "orders-api sent 3× frontend's bytes; rates \(bySource)")
        print("PromQL \(rateQuery) => \(bySource)")
        for c in [orders, frontend, reverse] { c.closed() }
    }
}
