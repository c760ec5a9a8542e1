import ArgumentParser
import Foundation
import ZestNode
import ZestReactor

/// `zest run`: the node agent (ztunnel's `proxy`).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the node agent: enroll pods over ZDS, capture and proxy their traffic, serve metrics.",
        discussion: """
        Settings come from, lowest precedence first: defaults, --config (a YAML mapping of \
        setting names), environment variables with ztunnel's names (TRUST_DOMAIN, \
        LOCAL_XDS_PATH, INPOD_UDS, ZTUNNEL_WORKER_THREADS, CONNECTION_TERMINATION_DEADLINE, …), \
        then --set KEY=VALUE. The effective configuration is logged at start. SIGTERM, SIGINT \
        or POST /quitquitquit on the admin port drain and exit 0.
        """
    )

    @Option(help: "YAML file of settings (same names as the environment variables).")
    var config: String?

    @Option(name: .customLong("set"), help: "Override one setting, e.g. --set LOCAL_XDS_PATH=/etc/zest/mesh.yaml (repeatable).")
    var settings: [String] = []

    func run() throws {
        EagerBinding.reexecOnce()
        var overrides: [String: String] = [:]
        for item in settings {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--set expects KEY=VALUE, got '\(item)'")
            }
            overrides[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        var file: (path: String, text: String)?
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ValidationError("cannot read --config \(config)")
            }
            file = (config, text)
        }
        let nodeConfig: NodeConfig
        do {
            nodeConfig = try NodeConfig.load(file: file, environment: ProcessInfo.processInfo.environment, overrides: overrides)
        } catch {
            throw ValidationError("\(error)")
        }
        let logger = AgentProcess.makeLogger(nodeConfig)
        let agent: NodeAgent
        do {
            try AgentProcess.prepare(nodeConfig, logger: logger)
            agent = try NodeAgent(config: nodeConfig, logger: logger)
        } catch {
            logger.error("agent", "cannot start: \(error)")
            logger.flush()
            throw ExitCode(1)
        }
        let signals = AgentProcess.drainOnSignals(agent)
        let status = agent.run()
        withExtendedLifetime(signals) {}
        throw ExitCode(status)
    }
}
