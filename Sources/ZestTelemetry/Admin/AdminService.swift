import Synchronization

/// The admin endpoints ztunnel serves on localhost:15000: `/config_dump`, `/logging`,
/// `/quitquitquit`, and `/` listing them.
public final class AdminService: Sendable {
    private let logger: Logger
    private let shutdown: @Sendable () -> Void
    private let providers = Mutex<[any ConfigDumpProvider]>([])

    /// `shutdown` runs on the admin thread when `/quitquitquit` is posted: it should start
    /// the drain and return at once.
    public init(logger: Logger, shutdown: @escaping @Sendable () -> Void) {
        self.logger = logger
        self.shutdown = shutdown
    }

    /// Adds a `/config_dump` section; a later provider with the same key replaces the earlier.
    public func register(_ provider: any ConfigDumpProvider) {
        providers.withLock { list in
            list.removeAll { $0.configDumpKey == provider.configDumpKey }
            list.append(provider)
        }
    }

    /// The whole dump: one member per provider, in registration order.
    public func configDump() -> JSONValue {
        .object(providers.withLock { $0 }.map { ($0.configDumpKey, $0.configDump()) })
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case "/":
            guard request.method == "GET" else { return .methodNotAllowed(allow: ["GET"]) }
            return .text(200, """
                Zest admin endpoints:
                  /config_dump            state as JSON (workloads, services, policies, certificates, pods)
                  /logging[?level=LEVEL]  show or change the log level (off|error|warn|info|debug|trace), ?reset restores it
                  /quitquitquit (POST)    start a graceful shutdown

                """)
        case "/config_dump":
            return HTTPResponse(status: 200, contentType: "application/json", body: Array(configDump().pretty.utf8))
        case "/logging":
            return logging(request)
        case "/quitquitquit":
            guard request.method == "POST" else { return .methodNotAllowed(allow: ["POST"]) }
            logger.info("admin", "shutdown requested through /quitquitquit")
            shutdown()
            return .text(200, "shutdown now\n")
        default:
            return .notFound(request.path)
        }
    }

    private func logging(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "POST" || request.method == "GET" else { return .methodNotAllowed(allow: ["GET", "POST"]) }
        if request.query.contains(where: { $0.name == "reset" }) {
            logger.resetLevel()
        } else if let text = request.queryValue("level") {
            do {
                let level = try Logger.parseLevel(text)
                logger.setLevel(level)
                logger.info("admin", "log level changed", [LogField("level", level?.description ?? "off")])
            } catch {
                return .text(400, "\(error)\n")
            }
        } else if let unknown = request.query.first {
            return .text(400, "unknown parameter '\(unknown.name)'; use ?level=LEVEL or ?reset\n")
        }
        return .text(200, "current log level is \(logger.level?.description ?? "off")\n")
    }
}
