import ArgumentParser

@main
struct Zest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zest",
        abstract: "A node-level L4 mTLS tunnel for Istio's ambient mesh (a ztunnel equivalent).",
        discussion: """
        Zest runs once per node (`zest run`). It enrolls pods without restarting them, captures their TCP traffic with nftables rules inside each pod's network namespace, carries it between nodes as HBONE (HTTP/2 CONNECT over mutual TLS with SPIFFE identities) and enforces L4 AuthorizationPolicy at the destination.

        Start with `make demo` (see README.md). The node agent is `zest run`; `zest cni` enrolls pods where no istio-cni runs; `zest config check` and `zest policy check` test configuration before it is deployed; `zest tunnel`, `zest tunnel-server`, `zest relay`, `zest redirect` and `zest ca` run one part on its own for debugging and benchmarks. Each subcommand has --help.
        """,
        version: ZestVersion.current,
        subcommands: [
            RunCommand.self,
            CNICommand.self,
            ConfigCommand.self,
            PolicyCommand.self,
            TunnelCommand.self,
            TunnelServerCommand.self,
            RelayCommand.self,
            RedirectCommand.self,
            CACommand.self,
            DemoCommand.self,
            TLSBenchCommand.self,
            VersionCommand.self,
        ]
    )
}

enum ZestVersion {
    static let current = "0.1.0-dev"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print Zest's version.")
    func run() { print("zest \(ZestVersion.current)") }
}
