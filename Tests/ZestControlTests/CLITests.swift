import Foundation
import Testing
import ZestTestSupport

/// Runs the built `zest` binary: `zest config check` and `zest policy check` exit codes and output.
@Suite struct CLITests {
    /// The `zest` executable beside the test bundle (`swift build --build-tests` builds it).
    static let zest: String? = PackagePaths.zest

    func run(_ args: [String]) throws -> CommandResult {
        let binary = try #require(Self.zest, "the zest executable was not found; run `swift build --build-tests` first")
        return try runCommand([binary] + args)
    }

    let mesh = Fixture.path("payments-mesh.yaml"), policies = Fixture.path("payments-policies.yaml")
    let orders = "spiffe://cluster.local/ns/orders/sa/orders-api"

    @Test func configCheckPrintsEnforcedPoliciesAndWarnings() throws {
        let r = try run(["config", "check", mesh, policies, Fixture.path("mesh-wide-strict.yaml")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("ALLOW payments/payments-api-l4"))
        #expect(r.stdout.contains("{principals=[cluster.local/ns/orders/sa/orders-api]} AND {ports=[8080]}"))
        #expect(r.stdout.contains("ALLOW payments/allow-orders-to-payments"))
        #expect(r.stdout.contains("warning: ALLOW rules[0] uses HTTP-only fields"))
        #expect(r.stdout.contains("PeerAuthentication istio-system/cluster-mtls-strict mode=STRICT"))
    }

    @Test func configCheckReportsEveryErrorWithFileAndLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zest-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.yaml").path
        try Data("workloads:\n- name: a\n  namespace: default\n  workloadIps: [nope]\n- name: b\n  protocol: UDP\n  namespace: x\n".utf8)
            .write(to: URL(fileURLWithPath: bad))
        let r = try run(["config", "check", bad])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(bad):4:"), "\(r.stderr)")
        #expect(r.stderr.contains("workloads[0].workloadIps[0]"))
        #expect(r.stderr.contains("\(bad):6:") && r.stderr.contains("workloads[1].protocol"), "\(r.stderr)")
    }

    @Test func policyCheckAllowNamesPolicyAndRule() throws {
        let r = try run(["policy", "check", "--config", mesh, "--config", policies, "--from", orders,
                         "--from-ip", "10.0.2.7", "--to", "10.0.1.5:8080"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasPrefix("ALLOW\n"))
        #expect(r.stdout.contains("AuthorizationPolicy payments/payments-api-l4 rules[0]"))
    }

    @Test func policyCheckDenyForPlaintextUnderStrict() throws {
        let r = try run(["policy", "check", "--config", mesh, "--config", policies, "--from", "none",
                         "--from-ip", "10.0.2.7", "--to", "10.0.1.5:8080"])
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("DENY\n"))
        #expect(r.stdout.contains("PeerAuthentication payments/payments-mtls"))
    }

    @Test func policyCheckSaysWhenNoPolicyApplies() throws {
        let r = try run(["policy", "check", "--config", mesh, "--from", "none", "--from-ip", "10.0.2.7", "--to", "10.0.1.5:8080"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("no policy applies"))
    }

    @Test func policyCheckRejectsMalformedInput() throws {
        let r = try run(["policy", "check", "--config", mesh, "--from", "cluster.local/ns/x", "--from-ip", "10.0.2",
                         "--to", "10.0.1.5"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--from") && r.stderr.contains("--from-ip") && r.stderr.contains("--to"))
    }

    @Test func helpDocumentsExitCodes() throws {
        let r = try run(["policy", "check", "--help"])
        #expect(r.stdout.contains("0 ALLOW; 1 DENY; 2 invalid input"))
    }
}
