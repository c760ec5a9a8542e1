import ArgumentParser
import Glibc
import ZestControl
import ZestPolicy

/// `zest config …`: operator tools for configuration files.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check Zest configuration files.",
        subcommands: [ConfigCheckCommand.self]
    )
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Load configuration files exactly as `zest run` does and show the L4 policies Zest will enforce.",
        discussion: """
        FILE may hold ztunnel local-config documents (workloads, services, policies) and Istio
        security.istio.io AuthorizationPolicy / PeerAuthentication resources, several documents
        per file. Every error is reported as file:line:column: field: message. Parts of
        AuthorizationPolicies that cannot be enforced at L4 (HTTP methods, paths, headers …)
        are reported as warnings naming the policy.

        Exit status: 0 the files are valid; 2 they are not (every error is printed);
        64 the command line is wrong.
        """
    )

    @Argument(help: "Configuration files to check.")
    var files: [String]

    @Option(help: "Istio's root namespace: policies there apply to the whole mesh.")
    var rootNamespace = "istio-system"

    func run() throws {
        let loader = ConfigLoader(rootNamespace: rootNamespace)
        let config: LoadedConfig
        do throws(ConfigErrors) {
            config = try loader.load(files: files)
        } catch {
            for e in error.errors { PolicyToolOutput.error("error: \(e)") }
            PolicyToolOutput.error("\(error.errors.count) error(s); the configuration would not be applied")
            throw ExitCode(2)
        }
        print("\(config.workloads.count) workload(s), \(config.services.count) service(s), "
              + "\(config.policies.count) L4 authorization policy(ies), \(config.peerAuthentications.count) PeerAuthentication(s)")
        if !config.policies.isEmpty { print("\nL4 authorization policies as enforced:") }
        var shown = Set<ConfigWarning>()
        for p in config.policies {
            let origin = config.origins[p.key].map { "  (\($0))" } ?? ""
            print(p.description.replacingFirstLine { $0 + origin })
            for w in config.warnings where w.policy == p.key {
                print("  warning: \(w.message)  (\(w.file):\(w.line))")
                shown.insert(w)
            }
        }
        let others = config.warnings.filter { !shown.contains($0) }
        if !others.isEmpty { print("\nOther warnings:") }
        for w in others { print(w.description) }
        if !config.peerAuthentications.isEmpty { print("\nmTLS:") }
        for pa in config.peerAuthentications { print(pa.description) }
        print("\nOK: \(files.count) file(s) valid, \(config.warnings.count) warning(s)")
    }
}

extension String {
    fileprivate func replacingFirstLine(_ transform: (String) -> String) -> String {
        var lines = split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if !lines.isEmpty { lines[0] = transform(lines[0]) }
        return lines.joined(separator: "\n")
    }
}

/// Standard-error output for the config and policy tools.
enum PolicyToolOutput {
    static func error(_ line: String) {
        var stream = Stream()
        print(line, to: &stream)
    }

    struct Stream: TextOutputStream {
        mutating func write(_ string: String) {
            let bytes = Array(string.utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }
}
