import ArgumentParser
import ZestRedirect

/// `zest redirect …`: install, remove and inspect Zest's capture rules in a pod's network
/// namespace by hand — for operators, demos, and recovering a pod after a crash.
struct RedirectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redirect",
        abstract: "Install, remove or inspect the nftables capture rules in pod network namespaces.",
        discussion: """
        The rules redirect a pod's new outbound TCP connections to 15001 and inbound ones to 15006 \
        (15008 passes), skip Zest's own sockets (mark 0x539) and kubelet probes, and add the policy \
        route fwmark 0x111/0xfff → table 100 for replies of source-preserved connections. \
        Namespaces are given as paths: /var/run/netns/<name> or /proc/<pid>/ns/net.
        """,
        subcommands: [Install.self, Remove.self, Status.self, Cleanup.self, RedirectBenchCommand.self]
    )

    struct RuleOptions: ParsableArguments {
        @Option(help: "Name of Zest's inet table in the pod namespace.")
        var table = "zest"
        @Flag(help: "Also redirect DNS (UDP and TCP port 53) to 15053.")
        var dns = false
        @Flag(help: "Do not install the fwmark 0x111 policy route.")
        var noPolicyRoute = false

        var capture: CaptureOptions {
            var options = CaptureOptions()
            options.tableName = table
            options.captureDNS = dns
            options.installPolicyRoute = !noPolicyRoute
            return options
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Install (or refresh) the capture rules in each namespace.")
        @OptionGroup var rules: RuleOptions
        @Option(name: .customLong("netns"), help: "Pod network namespace path (repeatable).")
        var namespaces: [String]

        func run() throws {
            let capture = PodCapture(mode: .zest(rules.capture), thread: try NetnsThread())
            for path in namespaces {
                try capture.install(in: NetNamespace(path: path))
                print("installed \(path)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the capture rules and policy route from each namespace.")
        @OptionGroup var rules: RuleOptions
        @Option(name: .customLong("netns"), help: "Pod network namespace path (repeatable).")
        var namespaces: [String]

        func run() throws {
            let capture = PodCapture(mode: .zest(rules.capture), thread: try NetnsThread())
            for path in namespaces {
                try capture.remove(from: NetNamespace(path: path))
                print("removed \(path)")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether Zest's table is present in each namespace.")
        @OptionGroup var rules: RuleOptions
        @Option(name: .customLong("netns"), help: "Pod network namespace path (repeatable); default: all of /var/run/netns.")
        var namespaces: [String] = []

        func run() throws {
            let capture = PodCapture(mode: .zest(rules.capture), thread: try NetnsThread())
            for path in namespaces.isEmpty ? NetNamespace.namedPaths() : namespaces {
                let installed = try capture.isInstalled(in: NetNamespace(path: path))
                print("\(path)\t\(installed ? "captured" : "not captured")")
            }
        }
    }

    struct Cleanup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove leftover Zest tables and policy routes (run while Zest is stopped, or name the namespaces it no longer serves).")
        @OptionGroup var rules: RuleOptions
        @Option(name: .customLong("netns"), help: "Namespace path (repeatable); default: all of /var/run/netns.")
        var namespaces: [String] = []

        func run() throws {
            let capture = PodCapture(mode: .zest(rules.capture), thread: try NetnsThread())
            let handles = try (namespaces.isEmpty ? NetNamespace.namedPaths() : namespaces).map { try NetNamespace(path: $0) }
            var failed = false
            for result in capture.removeLeftovers(in: handles) {
                switch result.outcome {
                case .removed: print("\(result.namespace)\tremoved leftover rules")
                case .nothingFound: print("\(result.namespace)\tclean")
                case .failed(let why):
                    failed = true
                    print("\(result.namespace)\tFAILED: \(why)")
                }
            }
            if failed { throw ExitCode.failure }
        }
    }
}
