import Testing
import Glibc
@testable import ZestNode
import ZestCore

@Suite struct NodeConfigTests {
    @Test func defaultsMatchZtunnel() throws {
        let c = try NodeConfig.load(environment: [:])
        #expect(c.enrollmentSocket == "/var/run/ztunnel/ztunnel.sock")
        #expect(c.terminationDeadline == .seconds(5))
        #expect(c.packetMark == 1337)
        #expect(c.trustDomain == "cluster.local")
        #expect(c.metricsAddress.port == 15020 && c.readinessAddress.port == 15021 && c.adminAddress.port == 15000)
        #expect(c.adminAddress.ip.isLoopback, "admin listens on localhost only")
    }

    @Test func metricsAndReadinessListenOnBothFamiliesSoIPv6PodIPsReachThem() throws {
        let c = try NodeConfig.load(environment: [:])
        #expect(c.metricsAddress == SocketAddress("[::]:15020"))
        #expect(c.readinessAddress == SocketAddress("[::]:15021"))
    }

    /// Busy polling is off unless asked for, takes a duration up to 10 ms, and reads back as set.
    @Test func busyPollIsOffByDefaultAndBounded() throws {
        #expect(try NodeConfig.load(environment: [:]).busyPoll == .zero)
        let on = try NodeConfig.load(environment: ["ZEST_BUSY_POLL": "50us"])
        #expect(on.busyPoll == .microseconds(50))
        #expect(on.origins["ZEST_BUSY_POLL"] == "env")
        #expect(NodeConfig.settings.first { $0.key == "ZEST_BUSY_POLL" }?.render(on) == "50us")
        #expect(throws: NodeConfigError.self) { try NodeConfig.load(environment: ["ZEST_BUSY_POLL": "1s"]) }
        #expect(throws: NodeConfigError.self) { try NodeConfig.load(environment: ["ZEST_BUSY_POLL": "fast"]) }
    }

    @Test func environmentUsesZtunnelNames() throws {
        let c = try NodeConfig.load(environment: [
            "TRUST_DOMAIN": "example.org", "CLUSTER_ID": "east", "INPOD_UDS": "/run/z.sock",
            "ZTUNNEL_WORKER_THREADS": "50%", "CONNECTION_TERMINATION_DEADLINE": "1m30s",
            "LOCAL_XDS_PATH": "/etc/zest/local.yaml", "LOG_FORMAT": "json", "UNRELATED": "x",
        ])
        #expect(c.trustDomain == "example.org")
        #expect(c.clusterID == "east")
        #expect(c.enrollmentSocket == "/run/z.sock")
        #expect(c.workers == .percentOfCPUs(50))
        #expect(c.workers.resolve(cpus: 3) == 2)
        #expect(c.terminationDeadline == .seconds(90))
        #expect(c.localConfigPath == "/etc/zest/local.yaml")
        #expect(c.logFormat == .json)
        #expect(c.origins["TRUST_DOMAIN"] == "env")
    }

    @Test func precedenceIsDefaultFileEnvFlag() throws {
        let file = (path: "/etc/zest.yaml", text: "TRUST_DOMAIN: file.td\nCLUSTER_ID: from-file\nNODE_NAME: n1\n")
        let c = try NodeConfig.load(file: file, environment: ["CLUSTER_ID": "from-env", "NODE_NAME": "n2"],
                                    overrides: ["NODE_NAME": "n3"])
        #expect(c.trustDomain == "file.td")
        #expect(c.origins["TRUST_DOMAIN"] == "/etc/zest.yaml:1")
        #expect(c.clusterID == "from-env")
        #expect(c.nodeName == "n3")
        #expect(c.origins["NODE_NAME"] == "flag")
        #expect(c.effectiveSummary.contains("NODE_NAME=n3 (flag)"))
    }

    @Test func istioMetaClusterIDWins() throws {
        let c = try NodeConfig.load(environment: ["CLUSTER_ID": "a", "ISTIO_META_CLUSTER_ID": "b"])
        #expect(c.clusterID == "b")
    }

    @Test(arguments: [(30, 25), (8, 7), (1, 1)])
    func terminationDeadlineFollowsGracePeriod(_ c: (Int, Int)) throws {
        let config = try NodeConfig.load(environment: ["TERMINATION_GRACE_PERIOD_SECONDS": "\(c.0)"])
        #expect(config.terminationDeadline == .seconds(c.1))
    }

    @Test(arguments: [
        ("ZTUNNEL_WORKER_THREADS", "many"), ("ZTUNNEL_WORKER_THREADS", "150%"),
        ("CONNECTION_TERMINATION_DEADLINE", "soon"), ("CONNECTION_TERMINATION_DEADLINE", "5x"),
        ("TRUST_DOMAIN", "Bad_Domain!"), ("INPOD_UDS", "relative.sock"), ("LOG_FORMAT", "xml"),
        ("ZEST_METRICS_ADDRESS", "15020"), ("PACKET_MARK", "-1"), ("INPOD_PORT_REUSE", "maybe"),
    ])
    func badEnvironmentValueNamesKeyAndSource(_ c: (String, String)) {
        #expect {
            try NodeConfig.load(environment: [c.0: c.1])
        } throws: { error in
            guard let e = error as? NodeConfigError else { return false }
            return e.key == c.0 && e.source == "env" && e.value == c.1 && "\(e)".contains("expected")
        }
    }

    @Test func fileErrorsNameFileLineAndField() {
        let file = (path: "/etc/zest.yaml", text: "TRUST_DOMAIN: ok.td\n\nSECRET_TTL: forever\n")
        #expect(throws: NodeConfigError(source: "/etc/zest.yaml:3", key: "SECRET_TTL", value: "forever",
                                        expected: "a duration such as 5s, 1m30s or 500ms")) {
            try NodeConfig.load(file: file, environment: [:])
        }
        #expect {
            try NodeConfig.load(file: (path: "/z.yaml", text: "TRUST_DOMIAN: x\n"), environment: [:])
        } throws: { e in (e as? NodeConfigError)?.source == "/z.yaml:1" && "\(e)".contains("TRUST_DOMIAN") }
        #expect(throws: NodeConfigError.self) {
            try NodeConfig.load(file: (path: "/z.yaml", text: "- a\n- b\n"), environment: [:])
        }
        #expect(throws: NodeConfigError.self) {
            try NodeConfig.load(file: (path: "/z.yaml", text: "a: [unclosed\n"), environment: [:])
        }
    }

    @Test(arguments: [("5s", 5_000), ("500ms", 500), ("1m30s", 90_000), ("24h", 86_400_000), ("2.5s", 2_500), ("7", 7_000)])
    func durations(_ c: (String, Int64)) throws {
        let d = try #require(parseDuration(c.0))
        #expect(d == .milliseconds(c.1))
    }

    @Test func missingCapabilitiesAreNamedWithTheirPurpose() {
        let all = ProcessEnvironment.required.reduce(UInt64(0)) { $0 | UInt64(1) << UInt64($1.bit) }
        #expect(ProcessEnvironment.missing(from: all).isEmpty)
        let missing = ProcessEnvironment.missing(from: all & ~(UInt64(1) << 21))
        #expect(missing.map(\.name) == ["CAP_SYS_ADMIN"])
        #expect(missing[0].neededFor.contains("setns"))
    }

    @Test func fileLimitIsRaisedToTheHardLimit() {
        var limit = rlimit()
        let soft = ProcessEnvironment.raiseFileLimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #expect(soft == UInt64(limit.rlim_max))
    }
}
