import Testing
import Foundation
import ZestTestSupport
@testable import ZestTelemetry

func labels(_ reporter: TrafficLabels.Reporter, from src: String, to dst: String) -> TrafficLabels {
    var l = TrafficLabels(reporter: reporter)
    l.sourceWorkload = src
    l.sourceWorkloadNamespace = "shop"
    l.sourcePrincipal = "spiffe://cluster.local/ns/shop/sa/\(src)"
    l.destinationWorkload = dst
    l.destinationWorkloadNamespace = "shop"
    l.destinationService = "\(dst).shop.svc.cluster.local"
    l.connectionSecurityPolicy = .mutualTLS
    return l
}

@Suite struct TrafficMetricsTests {
    @Test func concurrentWorkersCountingTheSameLabelsSumExactly() throws {
        let metrics = TrafficMetrics()
        let workers = 4, connections = 2_000
        let key = labels(.destination, from: "orders-api", to: "payments-api")
        let done = DispatchGroup()
        for w in 0..<workers {
            done.enter()
            Thread {
                let shard = metrics.makeShard()
                for i in 0..<connections {
                    let c = shard.connection(key)
                    c.opened()
                    c.received(100 + w)
                    c.sent(i % 7)
                    c.closed()
                }
                done.leave()
            }.start()
        }
        // Scrapes run while the workers count; they must never see more than the final totals.
        var scrapes = 0
        while done.wait(timeout: .now()) == .timedOut {
            let t = metrics.totals()[key] ?? TrafficTotals()
            #expect(t.opened <= UInt64(workers * connections))
            scrapes += 1
        }
        let t = try #require(metrics.totals()[key])
        #expect(t.opened == UInt64(workers * connections))
        #expect(t.closed == UInt64(workers * connections))
        #expect(t.receivedBytes == UInt64((0..<workers).reduce(0) { $0 + (100 + $1) * connections }))
        #expect(t.sentBytes == UInt64(workers * (0..<connections).reduce(0) { $0 + $1 % 7 }))
        #expect(scrapes > 0)
    }

    @Test func bytesAreVisibleWhileTheConnectionIsStillOpen() {
        let registry = MetricsRegistry(buildTag: "t")
        let shard = registry.traffic.makeShard()
        let c = shard.connection(labels(.destination, from: "orders-api", to: "payments-api"))
        c.opened()
        c.received(1500)
        c.sent(40)
        let scrape = registry.render()
        #expect(scrape.contains(#"destination_workload="payments-api""#))
        let received = scrape.split(separator: "\n").first { $0.hasPrefix("istio_tcp_received_bytes_total{") && $0.contains("payments-api") }
        #expect(received?.hasSuffix(" 1500") == true)
        let closed = scrape.split(separator: "\n").first { $0.hasPrefix("istio_tcp_connections_closed_total{") && $0.contains("payments-api") }
        #expect(closed?.hasSuffix(" 0") == true)
        c.received(500)
        #expect(registry.traffic.totals().values.first?.receivedBytes == 2000)
        #expect(registry.traffic.openConnections()[OpenConnectionKey(reporter: .destination, namespace: "shop", workload: "payments-api")] == 1)
        c.closed()
        #expect(registry.traffic.openConnections().isEmpty)
    }

    @Test func distinctLabelSetsStaySeparate() {
        let metrics = TrafficMetrics()
        let shard = metrics.makeShard()
        shard.connection(labels(.destination, from: "orders-api", to: "payments-api")).received(10)
        shard.connection(labels(.destination, from: "frontend", to: "payments-api")).received(20)
        var flagged = labels(.destination, from: "frontend", to: "payments-api")
        flagged.responseFlags = "DENY"
        shard.connection(flagged).opened()
        let totals = metrics.totals()
        #expect(totals.count == 3)
        #expect(totals[labels(.destination, from: "frontend", to: "payments-api")]?.receivedBytes == 20)
        #expect(totals[flagged]?.opened == 1)
    }

    @Test func tlsFailuresAreCountedByReporterAndReason() {
        let registry = MetricsRegistry(buildTag: "t")
        registry.tlsHandshakes.failed(.identityMismatch, reporter: .source)
        registry.tlsHandshakes.failed(.identityMismatch, reporter: .source)
        registry.tlsHandshakes.failed(.timeout, reporter: .destination)
        let text = registry.render()
        #expect(text.contains(#"tls_handshake_failures_total{reporter="source",reason="identity_mismatch"} 2"#))
        #expect(text.contains(#"tls_handshake_failures_total{reporter="destination",reason="timeout"} 1"#))
    }

    @Test func bufferPoolGaugesArePerWorker() {
        let registry = MetricsRegistry(buildTag: "t")
        let p0 = registry.bufferPools.register(worker: 0, capacity: 512, bufferSize: 16384)
        let p1 = registry.bufferPools.register(worker: 1, capacity: 512, bufferSize: 16384)
        p0.setInUse(3)
        p1.setInUse(4)
        p1.exhausted()
        #expect(registry.bufferPools.inUse == 7)
        let text = registry.render()
        #expect(text.contains(#"buffer_pool_in_use_buffers{worker="1"} 4"#))
        #expect(text.contains(#"buffer_pool_exhausted_total{worker="1"} 1"#))
        #expect(text.contains(#"buffer_pool_capacity_buffers{worker="0"} 512"#))
    }
}
