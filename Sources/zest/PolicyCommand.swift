import ArgumentParser
import ZestControl
import ZestCore
import ZestPolicy

/// `zest policy …`: ask the authorization engine about a connection.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Ask Zest's L4 authorization engine about a connection.",
        subcommands: [PolicyCheckCommand.self]
    )
}

struct PolicyCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Decide whether a connection would be allowed, and by which policy.",
        discussion: """
        Loads the configuration exactly as `zest run` does, finds the destination workload by
        the --to address, and evaluates the policies that apply to it as the destination's
        Zest would: PeerAuthentication mTLS mode, then DENY policies, then ALLOW policies.
        The port is the application's target port, not 15008.

        Example:
          zest policy check --config mesh.yaml --config policies.yaml \\
            --from spiffe://cluster.local/ns/orders/sa/orders-api --from-ip 10.0.2.7 --to 10.0.1.5:8080

        Exit status: 0 ALLOW; 1 DENY; 2 invalid input (a configuration error or a malformed
        --from / --from-ip / --to value); 64 the command line is wrong (e.g. a missing option).
        """
    )

    @Option(name: .customLong("config"), help: "A configuration file (repeat for several).")
    var configFiles: [String]

    @Option(name: .customLong("from"), help: "The peer's SPIFFE identity (spiffe://td/ns/NS/sa/SA), or 'none' for plaintext.")
    var from: String

    @Option(name: .customLong("from-ip"), help: "The peer's IP address.")
    var fromIP: String

    @Option(name: .customLong("to"), help: "Destination pod IP and target port, IP:PORT ([IPv6]:PORT).")
    var to: String

    @Option(help: "Istio's root namespace: policies there apply to the whole mesh.")
    var rootNamespace = "istio-system"

    func run() throws {
        var problems: [String] = []
        var peer: SpiffeID?
        if from != "none" {
            let text = from.hasPrefix("spiffe://") ? from : "spiffe://\(from)"
            do { peer = try SpiffeID.parse(text) } catch { problems.append("--from '\(from)': \(error)") }
        }
        let source = IPAddress(fromIP)
        if source == nil { problems.append("--from-ip '\(fromIP)' is not an IP address") }
        let destination = SocketAddress(to)
        if destination == nil { problems.append("--to '\(to)' is not IP:PORT (use [IPv6]:PORT for IPv6)") }
        let config: LoadedConfig
        do throws(ConfigErrors) {
            config = try ConfigLoader(rootNamespace: rootNamespace).load(files: configFiles)
        } catch {
            problems += error.errors.map(\.description)
            config = LoadedConfig()
        }
        guard problems.isEmpty, let source, let destination else {
            for p in problems { PolicyToolOutput.error("error: \(p)") }
            throw ExitCode(2)
        }
        let state = config.makeState(rootNamespace: rootNamespace)
        let workload = state.workload(at: NetworkAddress(ip: destination.ip))
        let request = AuthorizationRequest(peer: peer, source: source, destination: destination)
        let decision = state.policies.authorize(request, workload: workload)
        print(decision.allowed ? "ALLOW" : "DENY")
        print(Self.explain(decision))
        if let workload {
            print("destination: workload \(workload.namespace)/\(workload.name) (\(workload.uid))")
        } else {
            print("destination: \(destination.ip) is not a known workload; only mesh-wide policies apply")
        }
        for note in decision.dryRun { print(note.description) }
        if !decision.allowed { throw ExitCode(1) }
    }

    static func explain(_ d: AuthorizationDecision) -> String {
        switch d.reason {
        case .noPolicyApplied: return "no policy applies to this destination"
        case .noDenyMatched: return "no DENY policy matched and no ALLOW policy applies"
        case .allowedBy(let p, let rule): return "decided by \(p) rules[\(rule)]"
        case .deniedBy(let p, let rule): return "decided by \(p) rules[\(rule)]"
        case .noAllowMatched(let ps):
            return "ALLOW policies apply but none matched: " + ps.map(\.description).joined(separator: ", ")
        case .strictMTLS(let p): return "decided by \(p): STRICT mTLS and the connection has no peer identity"
        }
    }
}
