/// The label set of Istio's four TCP metrics, as ztunnel emits them (`CommonTrafficLabels` in
/// ztunnel's `src/proxy/metrics.rs`): same names, same order, `unknown` for anything not known,
/// so existing Istio dashboards and alerts work unchanged.
public struct TrafficLabels: Hashable, Sendable {
    /// Which side of the connection reports: the proxy at the client (`source`) or at the server.
    public enum Reporter: String, Sendable { case source, destination }

    /// `mutual_tls` when the connection was carried over HBONE mTLS, else `unknown`.
    public enum SecurityPolicy: String, Sendable {
        case mutualTLS = "mutual_tls"
        case unknown
    }

    public static let unknown = "unknown"

    public var reporter: Reporter
    public var sourceWorkload = unknown
    public var sourceCanonicalService = unknown
    public var sourceCanonicalRevision = unknown
    public var sourceWorkloadNamespace = unknown
    /// `spiffe://…` of the verified peer (or our own identity when reporting as the source).
    public var sourcePrincipal = unknown
    public var sourceApp = unknown
    public var sourceVersion = unknown
    public var sourceCluster = unknown
    /// Service hostname, e.g. `payments.shop.svc.cluster.local`.
    public var destinationService = unknown
    public var destinationServiceNamespace = unknown
    public var destinationServiceName = unknown
    public var destinationWorkload = unknown
    public var destinationCanonicalService = unknown
    public var destinationCanonicalRevision = unknown
    public var destinationWorkloadNamespace = unknown
    public var destinationPrincipal = unknown
    public var destinationApp = unknown
    public var destinationVersion = unknown
    public var destinationCluster = unknown
    /// Always `tcp` for an L4 proxy.
    public var requestProtocol = "tcp"
    /// `-` for success; ztunnel's flags otherwise: `DENY`, `CONNECT`, `TLS_FAILURE`, …
    public var responseFlags = "-"
    public var connectionSecurityPolicy = SecurityPolicy.unknown
    public var sourceRegion = unknown
    public var sourceZone = unknown
    public var destinationRegion = unknown
    public var destinationZone = unknown

    public init(reporter: Reporter) {
        self.reporter = reporter
    }

    /// Hashes only the fields that usually tell label sets apart; equal sets still hash
    /// equally (a subset of what `==` compares), and resolving a connection's slot costs
    /// a quarter of hashing all 27 strings.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(reporter)
        hasher.combine(sourceWorkload)
        hasher.combine(sourcePrincipal)
        hasher.combine(destinationWorkload)
        hasher.combine(destinationService)
        hasher.combine(responseFlags)
    }

    /// The label names, in the order ztunnel writes them.
    public static let names = [
        "reporter", "source_workload", "source_canonical_service", "source_canonical_revision",
        "source_workload_namespace", "source_principal", "source_app", "source_version", "source_cluster",
        "destination_service", "destination_service_namespace", "destination_service_name",
        "destination_workload", "destination_canonical_service", "destination_canonical_revision",
        "destination_workload_namespace", "destination_principal", "destination_app",
        "destination_version", "destination_cluster", "request_protocol", "response_flags",
        "connection_security_policy", "source_region", "source_zone", "destination_region",
        "destination_zone",
    ]

    /// Values in the order of `names`; empty values render as `unknown`.
    public var values: [String] {
        [
            reporter.rawValue, sourceWorkload, sourceCanonicalService, sourceCanonicalRevision,
            sourceWorkloadNamespace, sourcePrincipal, sourceApp, sourceVersion, sourceCluster,
            destinationService, destinationServiceNamespace, destinationServiceName,
            destinationWorkload, destinationCanonicalService, destinationCanonicalRevision,
            destinationWorkloadNamespace, destinationPrincipal, destinationApp,
            destinationVersion, destinationCluster, requestProtocol, responseFlags,
            connectionSecurityPolicy.rawValue, sourceRegion, sourceZone, destinationRegion,
            destinationZone,
        ].map { $0.isEmpty ? Self.unknown : $0 }
    }

    /// Name/value pairs ready for `PrometheusWriter.sample`.
    public var pairs: [(String, String)] {
        Array(zip(Self.names, values))
    }
}
