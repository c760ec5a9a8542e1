import ArgumentParser
import Foundation
import ZestCore
import ZestIdentity

/// `zest ca`: the embedded certificate authority from the command line, for demos, tests and
/// the `--cert/--key/--ca` flags of other subcommands.
struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Run Zest's embedded CA: create or load a root and issue workload certificates.",
        subcommands: [CAIssueCommand.self, CAShowCommand.self]
    )
}

struct CAOptions: ParsableArguments {
    @Option(help: "State directory holding root-cert.pem and root-key.pem (created 0700 on first use).")
    var stateDir: String?

    @Option(help: "Istio cacerts directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) instead of --state-dir.")
    var cacerts: String?

    @Option(help: "Trust domain of the CA.")
    var trustDomain: String = "cluster.local"

    func validate() throws {
        guard (stateDir == nil) != (cacerts == nil) else {
            throw ValidationError("give exactly one of --state-dir or --cacerts")
        }
    }

    func load(leafLifetime: Duration = .seconds(86400)) throws -> EmbeddedCA {
        do {
            if let cacerts {
                return try EmbeddedCA.loadIstioCACerts(directory: cacerts, trustDomain: trustDomain, leafLifetime: leafLifetime)
            }
            return try EmbeddedCA.loadOrCreate(stateDirectory: stateDir!, trustDomain: trustDomain, leafLifetime: leafLifetime)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

struct CAIssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a workload certificate and write cert.pem (leaf + chain), key.pem (0600) and root.pem.",
        discussion: "Example: zest ca issue --state-dir /var/lib/zest/ca --identity spiffe://cluster.local/ns/demo/sa/web --out-dir ./web"
    )

    @OptionGroup var ca: CAOptions

    @Option(help: "SPIFFE identity of the workload, spiffe://<td>/ns/<ns>/sa/<sa>.")
    var identity: String

    @Option(help: "Directory to write cert.pem, key.pem and root.pem into (created if missing).")
    var outDir: String

    @Option(help: "Leaf lifetime in hours.")
    var lifetimeHours: Int = 24

    func validate() throws {
        do { _ = try SpiffeID.parse(identity) } catch { throw ValidationError("--identity: \(error)") }
        guard (1...24 * 365).contains(lifetimeHours) else { throw ValidationError("--lifetime-hours must be 1…8760") }
    }

    func run() throws {
        let id = try SpiffeID.parse(identity)
        let authority = try ca.load(leafLifetime: .seconds(lifetimeHours * 3600))
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let wc: WorkloadCertificate
        do {
            wc = try authority.fetchCertificate(for: id, now: Date())
            try wc.writePEMFiles(chain: outDir + "/cert.pem", key: outDir + "/key.pem", roots: outDir + "/root.pem")
        } catch {
            throw ValidationError(error.description)
        }
        Console.out("issued \(id) serial \(wc.leaf.serialNumberHex), valid until \(wc.notAfter); wrote \(outDir)/cert.pem, key.pem, root.pem")
    }
}

struct CAShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the identity, validity and usages of a certificate file."
    )

    @Argument(help: "PEM certificate (chain) file.")
    var file: String

    func run() throws {
        let chain: [Certificate]
        do { chain = try Certificate.load(chainFile: file) } catch { throw ValidationError(error.description) }
        for (i, c) in chain.enumerated() {
            Console.out("[\(i)] subject: \(c.subject)  issuer: \(c.issuer)")
            Console.out("    serial: \(c.serialNumberHex)  CA: \(c.isCA)  valid: \(c.notBefore) – \(c.notAfter)")
            Console.out("    URI SANs: \(c.uriSANs)  DNS SANs: \(c.dnsSANs)  EKU: \(c.extendedKeyUsages.map(\.rawValue).sorted())")
        }
    }
}
