import Testing
import Glibc
import Synchronization
import ZestCore
import ZestTestSupport
@testable import ZestTelemetry

/// The three servers on ephemeral loopback ports, with a logger writing to a temp file.
final class TelemetryFixture {
    let registry = MetricsRegistry(buildTag: "1.0-test")
    let readiness = Readiness()
    let logFile: TempLogFile
    let logger: Logger
    let admin: AdminService
    let servers: TelemetryServers
    /// How often the admin's shutdown hook ran.
    let counter = ShutdownCounter()

    init() throws {
        logFile = try TempLogFile()
        logger = Logger(sink: logFile.sink, format: .plain, level: .info)
        let counter = self.counter
        admin = AdminService(logger: logger) { counter.count.add(1, ordering: .relaxed) }
        servers = try TelemetryServers(addresses: .ephemeralLoopback, registry: registry, readiness: readiness, admin: admin)
    }

    var metricsPort: UInt16 { servers.metrics.localAddress.port }
    var readinessPort: UInt16 { servers.readiness.localAddress.port }
    var adminPort: UInt16 { servers.admin.localAddress.port }

    deinit {
        servers.stop()
        logFile.remove()
    }
}

final class ShutdownCounter: Sendable {
    let count = Atomic<Int>(0)
}

@Suite struct ReadinessTests {
    @Test func readyOnlyWhenEveryTaskIsDoneAndNamesThePendingOnes() throws {
        let f = try TelemetryFixture()
        let certs = f.readiness.register("certificates")
        let config = f.readiness.register("configuration")
        let snapshot = f.readiness.register("enrollment snapshot")
        var r = try httpRequest(port: f.readinessPort, "/healthz/ready")
        #expect(r.status == 500)
        #expect(r.body == "not ready, pending: certificates, configuration, enrollment snapshot\n")
        certs.markReady()
        config.markReady()
        r = try httpRequest(port: f.readinessPort, "/healthz/ready")
        #expect(r.status == 500 && r.body == "not ready, pending: enrollment snapshot\n")
        snapshot.markReady()
        r = try httpRequest(port: f.readinessPort, "/healthz/ready")
        #expect(r.status == 200 && r.body == "ready\n")
        snapshot.markPending()
        #expect(try httpRequest(port: f.readinessPort, "/healthz/ready").status == 500)
    }

    @Test func readinessRefusesOtherMethodsAndPaths() throws {
        let f = try TelemetryFixture()
        #expect(try httpRequest(port: f.readinessPort, method: "POST", "/healthz/ready").status == 405)
        #expect(try httpRequest(port: f.readinessPort, "/metrics").status == 404)
    }
}

@Suite struct MetricsEndpointTests {
    @Test func bothScrapePathsServeTheTextFormat() throws {
        let f = try TelemetryFixture()
        let shard = f.registry.traffic.makeShard()
        shard.connection(labels(.destination, from: "orders-api", to: "payments-api")).received(321)
        for path in ["/metrics", "/stats/prometheus"] {
            let r = try httpRequest(port: f.metricsPort, path)
            #expect(r.status == 200)
            #expect(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(r.body.contains(#"destination_workload="payments-api""#))
            #expect(r.body.contains(#"istio_build{component="ztunnel",tag="1.0-test"} 1"#))
        }
        #expect(try httpRequest(port: f.metricsPort, "/other").status == 404)
    }
}

@Suite struct AdminTests {
    @Test func configDumpAssemblesTheRegisteredProviders() throws {
        let f = try TelemetryFixture()
        f.admin.register(ConfigDumpSection("workloads") {
            [["uid": "cluster1//v1/Pod/shop/payments-api-0", "name": "payments-api-0", "namespace": "shop"]]
        })
        f.admin.register(ConfigDumpSection("services") { [["hostname": "payments.shop.svc.cluster.local"]] })
        f.admin.register(ConfigDumpSection("policies") { [] })
        let cert = CertificateDump(pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                                   serialNumber: "0a1b", validFrom: 1_790_000_000, expirationTime: 1_790_086_400)
        f.admin.register(ConfigDumpSection("certificates") {
            [IdentityCertificatesDump(identity: "spiffe://cluster.local/ns/shop/sa/payments-api", state: "Available",
                                      chain: [cert], roots: []).json]
        })
        let registry = f.registry
        f.admin.register(ConfigDumpSection("workloadState") {
            .object(registry.traffic.openConnections().map { k, v in
                ("\(k.namespace)/\(k.workload)", ["state": "Up", "connections": .int(Int64(v))])
            })
        })
        let shard = registry.traffic.makeShard()
        let c = shard.connection(labels(.destination, from: "orders-api", to: "payments-api"))
        c.opened()

        let r = try httpRequest(port: f.adminPort, "/config_dump")
        #expect(r.status == 200)
        #expect(r.headers["content-type"] == "application/json")
        let keys = ["\"workloads\"", "\"services\"", "\"policies\"", "\"certificates\"", "\"workloadState\""]
        let positions = keys.compactMap { r.body.range(of: $0)?.lowerBound }
        #expect(positions.count == keys.count && positions == positions.sorted())
        #expect(r.body.contains(#""validFrom": "2026-09-21T14:13:20Z""#))
        #expect(r.body.contains(#""expirationTime": "2026-09-22T14:13:20Z""#))
        #expect(r.body.contains(#""pem": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=""#))
        #expect(r.body.contains(#""shop/payments-api": {"#) && r.body.contains(#""connections": 1"#))
    }

    @Test func loggingShowsAndChangesTheLevelAtRuntime() throws {
        let f = try TelemetryFixture()
        #expect(try httpRequest(port: f.adminPort, "/logging").body == "current log level is info\n")
        f.logger.debug("test", "hidden before")
        let r = try httpRequest(port: f.adminPort, method: "POST", "/logging?level=debug")
        #expect(r.status == 200 && r.body == "current log level is debug\n")
        #expect(f.logger.level == .debug)
        f.logger.debug("test", "shown after")
        #expect(try httpRequest(port: f.adminPort, method: "POST", "/logging?level=off").body == "current log level is off\n")
        f.logger.error("test", "hidden when off")
        #expect(try httpRequest(port: f.adminPort, method: "POST", "/logging?reset").body == "current log level is info\n")
        let bad = try httpRequest(port: f.adminPort, method: "POST", "/logging?level=loud")
        #expect(bad.status == 400 && bad.body.contains("unknown log level 'loud'"))
        #expect(try httpRequest(port: f.adminPort, method: "POST", "/logging?colour=red").status == 400)
        f.logger.flush()
        let log = f.logFile.contents()
        #expect(!log.contains("hidden before") && log.contains("shown after") && !log.contains("hidden when off"))
    }

    @Test func quitquitquitInvokesTheShutdownHookOnPostOnly() throws {
        let f = try TelemetryFixture()
        #expect(try httpRequest(port: f.adminPort, "/quitquitquit").status == 405)
        #expect(f.counter.count.load(ordering: .relaxed) == 0)
        let r = try httpRequest(port: f.adminPort, method: "POST", "/quitquitquit")
        #expect(r.status == 200 && r.body == "shutdown now\n")
        #expect(f.counter.count.load(ordering: .relaxed) == 1)
    }

    @Test func failingToBindOneServerReleasesTheOthers() throws {
        let taken = try HTTPServer(.init(address: SocketAddress(ip: .loopbackV4, port: 0))) { _ in .text(200, "") }
        defer { taken.stop() }
        var addresses = TelemetryServers.Addresses.ephemeralLoopback
        addresses.metrics.port = try freeLoopbackPort()
        addresses.admin = taken.localAddress
        let file = try TempLogFile()
        defer { file.remove() }
        let admin = AdminService(logger: Logger(sink: file.sink, format: .plain)) {}
        #expect(throws: ListenError.self) {
            _ = try TelemetryServers(addresses: addresses, registry: MetricsRegistry(buildTag: "t"),
                                     readiness: Readiness(), admin: admin)
        }
        let again = try HTTPServer(.init(address: addresses.metrics)) { _ in .text(200, "") }
        again.stop()
    }

    @Test func adminDefaultsToLoopback() {
        #expect(TelemetryServers.Addresses().admin.ip.isLoopback)
        #expect(TelemetryServers.Addresses().metrics.port == 15020)
        #expect(TelemetryServers.Addresses().readiness.port == 15021)
        #expect(TelemetryServers.Addresses().admin.port == 15000)
    }
}
