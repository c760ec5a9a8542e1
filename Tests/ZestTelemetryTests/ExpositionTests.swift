import Testing
import ZestTestSupport
import Glibc
@testable import ZestTelemetry

@Suite struct ExpositionFormatTests {
    @Test func labelValuesEscapeBackslashQuoteAndNewline() {
        #expect(PrometheusWriter.escapeLabelValue(#"a\b"#) == #"a\\b"#)
        #expect(PrometheusWriter.escapeLabelValue(#"say "hi""#) == #"say \"hi\""#)
        #expect(PrometheusWriter.escapeLabelValue("two\nlines") == #"two\nlines"#)
        #expect(PrometheusWriter.escapeLabelValue("plain-ünïcode") == "plain-ünïcode")
    }

    @Test func helpEscapesBackslashAndNewlineButNotQuotes() {
        #expect(PrometheusWriter.escapeHelp("a \"b\"\\c\nd") == "a \"b\"\\\\c\\nd")
    }

    @Test func familyWritesHelpAndTypeBeforeSamples() {
        var w = PrometheusWriter()
        w.family("x_total", help: "Things", type: .counter)
        w.sample("x_total", labels: [("a", "1"), ("b", "q\"")], UInt64(7))
        w.sample("x_total", UInt64(0))
        #expect(w.text == "# HELP x_total Things\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"\"} 7\nx_total 0\n")
    }

    @Test func specialFloatsUsePrometheusSpelling() {
        var w = PrometheusWriter()
        w.sample("g", Double.infinity)
        w.sample("g", -Double.infinity)
        w.sample("g", Double.nan)
        w.sample("g", 1.5)
        #expect(w.text == "g +Inf\ng -Inf\ng NaN\ng 1.5\n")
    }

    @Test func trafficLabelsFollowZtunnelOrderAndDefaultToUnknown() {
        var l = TrafficLabels(reporter: .destination)
        l.destinationWorkload = "payments-api"
        l.sourceWorkload = ""
        let pairs = l.pairs
        #expect(pairs.count == 27)
        #expect(pairs.map(\.0).prefix(5) == ["reporter", "source_workload", "source_canonical_service",
                                           "source_canonical_revision", "source_workload_namespace"])
        #expect(pairs[20].0 == "request_protocol" && pairs[20].1 == "tcp")
        #expect(pairs[21].0 == "response_flags" && pairs[21].1 == "-")
        #expect(pairs[22].0 == "connection_security_policy" && pairs[22].1 == "unknown")
        #expect(pairs[1].1 == "unknown")
        #expect(pairs[12] == ("destination_workload", "payments-api"))
    }

    @Test func scrapeHasEveryFamilyOnceWithHelpAndType() {
        let registry = MetricsRegistry(buildTag: "test")
        let shard = registry.traffic.makeShard()
        var l = TrafficLabels(reporter: .source)
        l.sourceWorkload = "weird \"name\"\\x\ny"
        let c = shard.connection(l)
        c.opened()
        let text = registry.render()
        let lines = text.split(separator: "\n")
        let types = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        let helps = lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] }
        #expect(Set(types).count == types.count)
        #expect(helps == types)
        for name in ["istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total",
                     "istio_tcp_received_bytes_total", "istio_tcp_sent_bytes_total",
                     "workload_manager_active_proxy_count", "workload_manager_pending_proxy_count",
                     "workload_manager_proxies_started_total", "workload_manager_proxies_stopped_total",
                     "process_open_fds", "process_max_fds", "process_resident_memory_bytes",
                     "process_cpu_seconds_total", "process_start_time_seconds", "istio_build",
                     "tls_handshake_failures_total", "buffer_pool_in_use_buffers"] {
            #expect(types.contains(Substring(name)), "missing family \(name)")
        }
        #expect(text.contains(#"source_workload="weird \"name\"\\x\ny""#))
        #expect(!text.contains("# EOF"))
    }

    /// Other tests in this process open and close descriptors at the same time, so the check
    /// repeats (bounded) until one window saw nobody else's descriptors come or go.
    @Test func processMetricsReflectOpenDescriptorsAndLimit() {
        let quietWindowSawThePipe = waitUntil(timeout: .seconds(10), poll: .milliseconds(1)) {
            let before = ProcessMetrics.openFileDescriptors()
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return false }
            let during = ProcessMetrics.openFileDescriptors()
            close(fds[0]); close(fds[1])
            let after = ProcessMetrics.openFileDescriptors()
            return before == after && during == before + 2
        }
        #expect(quietWindowSawThePipe, "open descriptors did not rise by exactly the pipe's two")
        #expect(ProcessMetrics.maxFileDescriptors() > 0)
    }
}
