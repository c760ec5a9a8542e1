import Foundation
import Synchronization
import ZestTelemetry

/// Process-level start of the node agent shared by `zest run` and tests: logger from the
/// configuration, the effective configuration logged, RLIMIT_NOFILE raised, capabilities
/// checked, signals turned into a drain.
public enum AgentProcess {
    /// The logger the configuration asks for (format, level), writing to stderr.
    public static func makeLogger(_ config: NodeConfig) -> Logger {
        let level = (try? Logger.parseLevel(config.logLevel)) ?? .info
        return Logger(sink: LogSink(), format: config.logFormat == .json ? .json : .plain, level: level)
    }

    /// Ignores SIGPIPE, logs the effective configuration, raises the descriptor limit and checks capabilities.
    /// Throws `AgentError.missingCapabilities` naming each missing capability and its use.
    public static func prepare(_ config: NodeConfig, logger: Logger) throws {
        logger.info("agent", "starting zest \(NodeAgent.version)")
        // A peer that resets mid-write must cost one connection, not the process (TLS writes
        // go through write(2), which raises SIGPIPE).
        signal(SIGPIPE, SIG_IGN)
        for line in config.effectiveSummary { logger.info("config", line) }
        let limit = ProcessEnvironment.raiseFileLimit()
        logger.info("agent", "file descriptor limit raised", [LogField("RLIMIT_NOFILE", "\(limit)")])
        guard let effective = ProcessEnvironment.effectiveCapabilities() else { return }
        let missing = ProcessEnvironment.missing(from: effective)
        guard missing.isEmpty else {
            throw AgentError.missingCapabilities(missing.map { "\($0.name) (for \($0.neededFor))" })
        }
    }

    /// SIGTERM and SIGINT start the drain; a second SIGINT exits at once (status 130), as
    /// ztunnel does. Keep the returned sources alive while the agent runs.
    public static func drainOnSignals(_ agent: NodeAgent) -> [DispatchSourceSignal] {
        let interrupts = Mutex(0)
        return [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if sig == SIGINT, interrupts.withLock({ $0 += 1; return $0 }) > 1 { exit(130) }
                agent.requestShutdown(reason: sig == SIGTERM ? "SIGTERM" : "SIGINT")
            }
            source.resume()
            return source
        }
    }
}
