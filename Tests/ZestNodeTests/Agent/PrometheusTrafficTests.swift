import Foundation
import Glibc
import Testing
import ZestTestSupport

/// A real Prometheus scrapes a real `zest run` while enrolled pods talk through it under the
/// payments policies, and answers the dashboard query with the traffic the test generated.
@Suite("zest run: Prometheus with real traffic", .serialized)
struct PrometheusTrafficTests {
    static let policies = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../docs/examples/payments-policies.yaml").standardized.path

    @Test(.enabled(if: Privilege.canRunPrivilegedTests && Tool.enabled("/usr/bin/prometheus"),
                   Comment(rawValue: Privilege.skipReason)))
    func promQLRateByWorkloadAnswersWithTheGeneratedTraffic() throws {
        let node = try NodeFixture()
        defer { node.destroy() }
        node.extraConfig = try String(contentsOfFile: Self.policies, encoding: .utf8)
        let orders = try node.addPod("orders-api", namespace: "orders", serviceAccount: "orders-api")
        let payments = try node.addPod("payments-api", namespace: "payments", serviceAccount: "payments-api")
        let web = try node.addPod("web", namespace: "shop", serviceAccount: "web")
        try node.startApp(in: payments)
        try node.startCNI()
        let zest = try node.startZest()
        for pod in [orders, payments, web] { try node.enroll(pod) }
        #expect(waitUntil(timeout: .seconds(20)) { zest.podStates.count == 3 }, "\(zest.process.output.suffix(800))")

        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(zest.metricsPort)", metricsPath: "/metrics")
        defer { prometheus.stop() }
        #expect(waitUntil(timeout: .seconds(30), poll: .milliseconds(200)) {
            prometheus.query("up{job=\"zest\"}")?.first?.1 == 1
        }, "\(prometheus.lastAnswer) \(prometheus.log)")

        // Traffic over a few scrapes: orders-api is allowed (5 bytes "ping\n" each), web is denied.
        var allowed = 0
        let start = ContinuousClock.now
        while allowed < 15 || ContinuousClock.now - start < .seconds(3) {
            if node.connect(from: orders, to: payments.ip).ok { allowed += 1 } else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(allowed >= 15)
        for _ in 0..<3 { #expect(!node.connect(from: web, to: payments.ip).ok) }
        let received = ["reporter": "destination", "destination_workload": "payments-api", "source_workload": "orders-api"]
        #expect(waitUntil(timeout: .seconds(5)) {
            zest.metric("istio_tcp_received_bytes_total", received) == Double(allowed * 5)
        }, "\(zest.metric("istio_tcp_received_bytes_total", received)) vs \(allowed * 5)")

        let rateQuery = "sum(rate(istio_tcp_received_bytes_total{destination_workload=\"payments-api\"}[1m])) by (source_workload)"
        var answer: [([String: String], Double)] = []
        #expect(waitUntil(timeout: .seconds(30), poll: .milliseconds(500)) {
            answer = prometheus.query(rateQuery) ?? []
            return answer.contains { $0.0["source_workload"] == "orders-api" && $0.1 > 0 }
        }, "\(prometheus.lastAnswer)")
        for (labels, value) in answer where labels["source_workload"] != "orders-api" {
            #expect(value == 0, "denied \(labels) moved no bytes")
        }
        let totalQuery = "sum(istio_tcp_received_bytes_total{destination_workload=\"payments-api\",reporter=\"destination\"}) by (source_workload)"
        #expect(waitUntil(timeout: .seconds(10), poll: .milliseconds(500)) {
            prometheus.query(totalQuery)?.first { $0.0["source_workload"] == "orders-api" }?.1 == Double(allowed * 5)
        }, "Prometheus holds exactly the bytes sent: \(prometheus.lastAnswer)")
        let rate = answer.first { $0.0["source_workload"] == "orders-api" }?.1 ?? 0
        print("PromQL \(rateQuery) → orders-api \(rate) B/s after \(allowed) allowed connections (\(allowed * 5) bytes)")
    }
}
