import ZestCore

/// The node agent's effective configuration.
///
/// Values come from, lowest precedence first: built-in defaults, an optional file, environment
/// variables with ztunnel's names (so an existing ztunnel DaemonSet's env carries over), then
/// command-line flags. `origins` records where each value came from, for the start-up log.
public struct NodeConfig: Sendable, Equatable {
    public var trustDomain = "cluster.local"
    public var clusterID = "Kubernetes"
    public var clusterDomain = "cluster.local"
    public var nodeName = ""
    public var network = ""
    /// Istio CA (gRPC) address; empty means the embedded CA.
    public var caAddress = ""
    /// xDS address; empty disables xDS (local configuration only).
    public var xdsAddress = ""
    public var localConfigPath = ""
    public var enrollmentSocket = "/var/run/ztunnel/ztunnel.sock"
    public var portReuse = true
    public var workers = WorkerCount.automatic
    public var terminationDeadline: Duration = .seconds(5)
    public var packetMark: UInt32 = 1337
    public var certificateLifetime: Duration = .seconds(24 * 3600)
    public var stateDirectory = "/var/lib/zest"
    /// An Istio `cacerts` directory whose CA signs workload certificates instead of the
    /// embedded root kept in `stateDirectory/ca`.
    public var cacertsDirectory = ""
    /// Where named pod namespaces live; searched for leftover capture rules at start.
    public var namespaceDirectory = "/var/run/netns"
    public var logFormat = LogFormat.plain
    public var logLevel = "info"
    public var adminAddress = SocketAddress(ip: .loopbackV4, port: 15000)
    /// `[::]` (both families), as ztunnel binds: kubelet probes and Prometheus reach the pod
    /// IP, which is IPv6 on IPv6-only clusters.
    public var metricsAddress = SocketAddress(ip: .anyV6, port: 15020)
    public var readinessAddress = SocketAddress(ip: .anyV6, port: 15021)
    public var dnsCapture = false
    /// Leave capture rules to a stock istio-cni that already installs its own.
    public var captureByIstioCNI = false
    /// Opt-in busy polling of every data-plane worker (`EventLoop.busyPoll`): less latency
    /// per message for a spinning CPU after each burst of events. Zero (the default) never spins.
    public var busyPoll: Duration = .zero

    /// Where each setting's value came from ("default", "file /etc/zest.yaml:3", "env", "flag").
    public var origins: [String: String] = [:]

    public enum LogFormat: String, Sendable, Equatable { case plain, json }

    public init() {}
}

/// A configuration value that could not be used, with where it came from.
public struct NodeConfigError: Error, Equatable, CustomStringConvertible {
    public let source: String
    public let key: String
    public let value: String
    public let expected: String

    public var description: String { "\(source): \(key)=\"\(value)\" is not valid; expected \(expected)" }
}

/// One setting: its ztunnel environment name, the flag that overrides it, and how to apply text.
struct NodeSetting: Sendable {
    let key: String
    let expected: String
    let apply: @Sendable (inout NodeConfig, String) -> Bool
    let render: @Sendable (NodeConfig) -> String
}

extension NodeConfig {
    /// Every setting Zest reads, by its environment-variable name.
    static let settings: [NodeSetting] = [
        text("TRUST_DOMAIN", \.trustDomain, valid: { SpiffeID("spiffe://\($0)/ns/a/sa/b") != nil }),
        text("CLUSTER_ID", \.clusterID),
        text("CLUSTER_DOMAIN", \.clusterDomain),
        text("NODE_NAME", \.nodeName),
        text("NETWORK", \.network),
        text("CA_ADDRESS", \.caAddress),
        text("XDS_ADDRESS", \.xdsAddress),
        text("LOCAL_XDS_PATH", \.localConfigPath),
        text("INPOD_UDS", \.enrollmentSocket, valid: { $0.hasPrefix("/") }),
        flag("INPOD_PORT_REUSE", \.portReuse),
        NodeSetting(key: "ZTUNNEL_WORKER_THREADS", expected: "a number, N% or 0 (all CPUs)",
                    apply: { c, v in WorkerCount(parsing: v).map { c.workers = $0 } != nil },
                    render: { $0.workers.description }),
        duration("CONNECTION_TERMINATION_DEADLINE", \.terminationDeadline),
        NodeSetting(key: "PACKET_MARK", expected: "a mark number such as 1337",
                    apply: { c, v in UInt32(v).map { c.packetMark = $0 } != nil },
                    render: { "\($0.packetMark)" }),
        duration("SECRET_TTL", \.certificateLifetime),
        text("ZEST_STATE_DIR", \.stateDirectory, valid: { $0.hasPrefix("/") }),
        text("ZEST_CACERTS_DIR", \.cacertsDirectory, valid: { $0.isEmpty || $0.hasPrefix("/") }),
        text("ZEST_NETNS_DIR", \.namespaceDirectory, valid: { $0.hasPrefix("/") }),
        NodeSetting(key: "LOG_FORMAT", expected: "plain or json",
                    apply: { c, v in LogFormat(rawValue: v).map { c.logFormat = $0 } != nil },
                    render: { $0.logFormat.rawValue }),
        text("RUST_LOG", \.logLevel, valid: { ["off", "error", "warn", "info", "debug", "trace"].contains($0) }),
        address("ZEST_ADMIN_ADDRESS", \.adminAddress),
        address("ZEST_METRICS_ADDRESS", \.metricsAddress),
        address("ZEST_READINESS_ADDRESS", \.readinessAddress),
        flag("ISTIO_META_DNS_CAPTURE", \.dnsCapture),
        flag("ZEST_CAPTURE_BY_ISTIO_CNI", \.captureByIstioCNI),
        NodeSetting(key: "ZEST_BUSY_POLL", expected: "a duration from 0 to 10ms such as 50us or 0",
                    apply: { c, v in
                        guard let d = parseDuration(v), d >= .zero, d <= .milliseconds(10) else { return false }
                        c.busyPoll = d
                        return true
                    },
                    render: { $0.busyPoll.compactDescription }),
    ]

    private static func text(_ key: String, _ path: WritableKeyPath<NodeConfig, String> & Sendable,
                             valid: @escaping @Sendable (String) -> Bool = { _ in true }) -> NodeSetting {
        NodeSetting(key: key, expected: "text", apply: { c, v in
            guard valid(v) else { return false }
            c[keyPath: path] = v
            return true
        }, render: { $0[keyPath: path] })
    }

    private static func flag(_ key: String, _ path: WritableKeyPath<NodeConfig, Bool> & Sendable) -> NodeSetting {
        NodeSetting(key: key, expected: "true or false", apply: { c, v in
            switch v.lowercased() {
            case "true", "1", "yes": c[keyPath: path] = true
            case "false", "0", "no": c[keyPath: path] = false
            default: return false
            }
            return true
        }, render: { "\($0[keyPath: path])" })
    }

    private static func duration(_ key: String, _ path: WritableKeyPath<NodeConfig, Duration> & Sendable) -> NodeSetting {
        NodeSetting(key: key, expected: "a duration such as 5s, 1m30s or 500ms", apply: { c, v in
            guard let d = parseDuration(v) else { return false }
            c[keyPath: path] = d
            return true
        }, render: { $0[keyPath: path].compactDescription })
    }

    private static func address(_ key: String, _ path: WritableKeyPath<NodeConfig, SocketAddress> & Sendable) -> NodeSetting {
        NodeSetting(key: key, expected: "IP:port or [IPv6]:port", apply: { c, v in
            guard let a = SocketAddress(v) else { return false }
            c[keyPath: path] = a
            return true
        }, render: { $0[keyPath: path].description })
    }
}
