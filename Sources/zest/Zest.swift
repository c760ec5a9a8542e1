import ArgumentParser

@main
struct Zest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zest",
        abstract: "A node-level L4 mTLS tunnel for Istio's ambient mesh (a ztunnel equivalent).",
        discussion: """
        Zest runs once per node. It enrolls pods without restarting them, captures their TCP
        traffic with nftables rules inside each pod's network namespace, carries it between
        nodes as HBONE (HTTP/2 CONNECT over mutual TLS with SPIFFE identities) and enforces
        L4 AuthorizationPolicy at the destination.

        Start with `make demo` (see README.md), or try a subcommand below; each has --help.
        """,
        version: ZestVersion.current,
        subcommands: [
            VersionCommand.self,
            RelayCommand.self,
            DemoCommand.self,
            CACommand.self,
            TLSBenchCommand.self,
            TunnelCommand.self,
            TunnelServerCommand.self,
            RedirectCommand.self,
            CNICommand.self,
            RunCommand.self,
            ConfigCommand.self, PolicyCommand.self,
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
