import ZestCore

/// Serves `/metrics` and `/stats/prometheus` from a registry (port 15020).
public struct MetricsEndpoint: Sendable {
    public let registry: MetricsRegistry

    public init(registry: MetricsRegistry) {
        self.registry = registry
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.path == "/metrics" || request.path == "/stats/prometheus" else { return .notFound(request.path) }
        guard request.method == "GET" || request.method == "HEAD" else { return .methodNotAllowed(allow: ["GET"]) }
        return HTTPResponse(status: 200, contentType: PrometheusWriter.contentType, body: Array(registry.render().utf8))
    }
}

/// The three node-level HTTP servers Zest runs, each on its own thread:
/// metrics (`[::]:15020`), readiness (`[::]:15021`) and admin (`127.0.0.1:15000`).
public final class TelemetryServers: Sendable {
    public struct Addresses: Sendable {
        public var metrics = SocketAddress(ip: .anyV6, port: 15020)
        public var readiness = SocketAddress(ip: .anyV6, port: 15021)
        /// Admin stays on loopback: it can shut the node agent down.
        public var admin = SocketAddress(ip: .loopbackV4, port: 15000)

        public init() {}

        /// All three on loopback with kernel-chosen ports (tests).
        public static var ephemeralLoopback: Addresses {
            var a = Addresses()
            a.metrics = SocketAddress(ip: .loopbackV4, port: 0)
            a.readiness = SocketAddress(ip: .loopbackV4, port: 0)
            a.admin = SocketAddress(ip: .loopbackV4, port: 0)
            return a
        }
    }

    public let metrics: HTTPServer
    public let readiness: HTTPServer
    public let admin: HTTPServer

    /// Binds the three servers; throws (binding nothing) if any address cannot be bound.
    public init(addresses: Addresses, registry: MetricsRegistry, readiness readinessState: Readiness,
                admin adminService: AdminService) throws(ListenError) {
        let endpoint = MetricsEndpoint(registry: registry)
        metrics = try HTTPServer(.init(address: addresses.metrics)) { endpoint.handle($0) }
        do {
            readiness = try HTTPServer(.init(address: addresses.readiness)) { readinessState.handle($0) }
        } catch {
            metrics.stop()
            throw error
        }
        do {
            admin = try HTTPServer(.init(address: addresses.admin)) { adminService.handle($0) }
        } catch {
            metrics.stop()
            readiness.stop()
            throw error
        }
    }

    public func stop() {
        metrics.stop()
        readiness.stop()
        admin.stop()
    }
}
