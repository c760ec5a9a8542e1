import Testing
import Foundation
import ZestCore
import ZestTestSupport
@testable import ZestTelemetry

func accessEntry(error: String? = nil) -> AccessLogEntry {
    var e = AccessLogEntry(source: SocketAddress("10.0.1.5:43122")!, destination: SocketAddress("10.0.2.7:15008")!,
                           direction: .inbound, bytesSent: 1234, bytesReceived: 56, duration: .milliseconds(13), error: error)
    e.sourceWorkload = "orders-api"
    e.sourceNamespace = "shop"
    e.sourceIdentity = SpiffeID("spiffe://cluster.local/ns/shop/sa/orders-api")
    e.destinationHBONEAddress = SocketAddress("10.0.2.7:8080")
    e.destinationService = "payments.shop.svc.cluster.local"
    e.destinationWorkload = "payments-api"
    e.destinationNamespace = "shop"
    e.destinationIdentity = SpiffeID("spiffe://cluster.local/ns/shop/sa/payments-api")
    return e
}

@Suite struct LoggingTests {
    @Test func plainAccessLineCarriesZtunnelFieldNames() throws {
        let file = try TempLogFile()
        defer { file.remove() }
        let log = AccessLog(logger: Logger(sink: file.sink, format: .plain))
        log.record(accessEntry())
        let line = file.contents().trimmingCharacters(in: .newlines)
        let cols = line.components(separatedBy: "\t")
        #expect(cols.count == 5)
        #expect(cols[0].hasSuffix("Z") && cols[0].count == "2026-11-27T00:13:15.123456Z".count)
        #expect(cols[1] == "info" && cols[2] == "access" && cols[3] == "connection complete")
        #expect(cols[4] == """
            src.addr=10.0.1.5:43122 src.workload="orders-api" src.namespace="shop" \
            src.identity="spiffe://cluster.local/ns/shop/sa/orders-api" dst.addr=10.0.2.7:15008 \
            dst.hbone_addr=10.0.2.7:8080 dst.service="payments.shop.svc.cluster.local" \
            dst.workload="payments-api" dst.namespace="shop" \
            dst.identity="spiffe://cluster.local/ns/shop/sa/payments-api" direction="inbound" \
            bytes_sent=1234 bytes_recv=56 duration="13ms"
            """)
    }

    @Test func failedConnectionIsLoggedAtErrorWithTheError() throws {
        let file = try TempLogFile()
        defer { file.remove() }
        AccessLog(logger: Logger(sink: file.sink, format: .plain)).record(accessEntry(error: "connection refused\nby \"upstream\""))
        let line = file.contents()
        #expect(line.contains("\terror\taccess\tconnection complete\t"))
        #expect(line.hasSuffix(#" error="connection refused\nby \"upstream\"""# + "\n"))
        #expect(line.split(separator: "\n").count == 1)
    }

    @Test func jsonFormatIsOneParseableObjectPerLine() throws {
        let file = try TempLogFile()
        defer { file.remove() }
        let logger = Logger(sink: file.sink, format: .json)
        AccessLog(logger: logger).record(accessEntry(error: "denied"))
        logger.info("xds", "config \"applied\"", [LogField("resources", 3)])
        let lines = file.contents().split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["level"] as? String == "error")
        #expect(first["scope"] as? String == "access")
        #expect(first["message"] as? String == "connection complete")
        #expect(first["src.addr"] as? String == "10.0.1.5:43122")
        #expect(first["dst.workload"] as? String == "payments-api")
        #expect(first["bytes_sent"] as? Int == 1234)
        #expect(first["bytes_recv"] as? Int == 56)
        #expect(first["duration"] as? String == "13ms")
        #expect(first["error"] as? String == "denied")
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        #expect(second["message"] as? String == "config \"applied\"" && second["resources"] as? Int == 3)
    }

    // Parsers are tested on values: setenv in a process whose other tests start subprocesses
    // would race with their reads of the environment.
    @Test func logFormatIsJSONOnlyForLOG_FORMATjson() {
        #expect(LogFormat.parse("json") == .json)
        #expect(LogFormat.parse("JSON") == .json)
        #expect(LogFormat.parse("plain") == .plain)
        #expect(LogFormat.parse(nil) == .plain)
    }

    @Test func startLevelComesFromRUST_LOGIgnoringTargetDirectives() throws {
        #expect(try Logger.level(rustLog: "debug,access=trace") == .debug)
        #expect(try Logger.level(rustLog: "access=trace", default: .warn) == .warn)
        #expect(try Logger.level(rustLog: "off") == nil)
        #expect(throws: LogLevelError.self) { try Logger.level(rustLog: "chatty") }
        #expect(try Logger.level(rustLog: nil) == .info)
        #expect(try Logger.level(rustLog: "") == .info)
    }

    @Test func levelsFilterAndOffSilencesEverything() throws {
        let file = try TempLogFile()
        defer { file.remove() }
        let logger = Logger(sink: file.sink, format: .plain, level: .warn)
        logger.info("t", "info-hidden")
        logger.warn("t", "warn-shown")
        logger.setLevel(.trace)
        logger.trace("t", "trace-shown")
        logger.setLevel(nil)
        logger.error("t", "error-hidden")
        let text = file.contents()
        #expect(!text.contains("info-hidden") && text.contains("warn-shown") && text.contains("trace-shown") && !text.contains("error-hidden"))
        #expect(throws: LogLevelError.self) { try Logger.parseLevel("verbose") }
        #expect(try Logger.parseLevel(" DEBUG ") == .debug)
    }

    @Test func aFullQueueMakesWritersWaitAndLosesNoLine() throws {
        // Capacity 4 with 4 threads × 2,000 lines forces back-pressure constantly.
        let file = try TempLogFile(capacity: 4)
        defer { file.remove() }
        let logger = Logger(sink: file.sink, format: .plain)
        let threads = 4, perThread = 2_000
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread { logger.info("t", "line", [LogField("thread", t), LogField("n", i)]) }
        }
        let lines = file.contents().split(separator: "\n")
        #expect(lines.count == threads * perThread)
        for t in 0..<threads {
            let ns = lines.filter { $0.contains("thread=\(t) ") }.compactMap { $0.split(separator: "n=").last.flatMap { Int($0) } }
            #expect(ns == Array(0..<perThread), "thread \(t) lost or reordered lines")
        }
    }
}

@Suite struct ConnectionTelemetryTests {
    @Test func countsLiveBytesAndLogsTotalsAndDurationAtClose() throws {
        let file = try TempLogFile()
        defer { file.remove() }
        let registry = MetricsRegistry(buildTag: "t")
        let shard = registry.traffic.makeShard()
        let key = labels(.destination, from: "orders-api", to: "payments-api")
        let start = ContinuousClock.now
        var conn = ConnectionTelemetry(shard: shard, labels: key, now: start)
        conn.received(100)
        conn.sent(7)
        conn.received(23)
        #expect(registry.traffic.totals()[key] == {
            var t = TrafficTotals(); t.opened = 1; t.receivedBytes = 123; t.sentBytes = 7; return t
        }())
        let entry = AccessLogEntry(source: SocketAddress("10.0.1.5:4000")!, destination: SocketAddress("10.0.2.7:15008")!,
                                   direction: .inbound)
        conn.close(AccessLog(logger: Logger(sink: file.sink, format: .plain)), entry, now: start + .milliseconds(42))
        #expect(registry.traffic.totals()[key]?.closed == 1)
        let line = file.contents()
        #expect(line.contains("bytes_sent=7 bytes_recv=123 duration=\"42ms\""))
    }
}
