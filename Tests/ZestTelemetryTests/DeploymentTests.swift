import Testing
import Foundation
import ZestTestSupport

/// Paths of the shipped deployment files and the tools that check them.
enum Deployment {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kubernetesDir = root.appendingPathComponent("docs/kubernetes")
    static let unit = root.appendingPathComponent("systemd/zest.service")
    static var validator: String { PackagePaths.venv + "/bin/kubernetes-validate" }
    static var python: String { PackagePaths.python }
    static var manifests: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: kubernetesDir.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted().map { kubernetesDir.appendingPathComponent($0).path }
    }
}

@Suite struct KubernetesManifestTests {
    @Test(.enabled(if: Tool.enabled(Deployment.validator),
                   Tool.skipReason(Deployment.validator, package: "PyPI kubernetes-validate")))
    func manifestsPassStrictSchemaValidation() throws {
        let files = Deployment.manifests
        #expect(files.count >= 2)
        // An older supported Kubernetes and the newest schema the validator ships.
        for version in ["1.30.0", "1.37.0"] {
            let r = try runCommand([Deployment.validator, "--strict", "--kubernetes-version", version] + files)
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            for f in files {
                #expect((r.stdout + r.stderr).contains("\(f) passed"), "\(r.stdout)\(r.stderr)")
            }
        }
    }

    @Test(.enabled(if: Tool.enabled(Deployment.validator),
                   Tool.skipReason(Deployment.validator, package: "PyPI kubernetes-validate")))
    func validatorRejectsAMisspelledField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zest-k8s-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try String(contentsOfFile: Deployment.kubernetesDir.appendingPathComponent("daemonset.yaml").path, encoding: .utf8)
        let broken = dir.appendingPathComponent("daemonset.yaml")
        try text.replacingOccurrences(of: "periodSeconds:", with: "periodSecond:").write(to: broken, atomically: true, encoding: .utf8)
        let r = try runCommand([Deployment.validator, "--strict", broken.path])
        #expect(r.status != 0)
        #expect((r.stdout + r.stderr).contains("periodSecond"))
    }

    /// Reads the manifests with PyYAML (shipped with kubernetes-validate) into JSON.
    func manifestsAsJSON() throws -> [[String: Any]] {
        let script = """
            import json, sys, yaml
            docs = []
            for path in sys.argv[1:]:
                with open(path) as f:
                    docs += [d for d in yaml.safe_load_all(f) if d]
            print(json.dumps(docs))
            """
        let out = try runChecked([Deployment.python, "-c", script] + Deployment.manifests)
        return try #require(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
    }

    @Test(.enabled(if: Tool.enabled(Deployment.python), Tool.skipReason(Deployment.python, package: "python3-venv")))
    func daemonSetGrantsOnlyWhatZestNeedsAndExposesProbesAndMetrics() throws {
        let docs = try manifestsAsJSON()
        let ds = try #require(docs.first { $0["kind"] as? String == "DaemonSet" })
        let sa = try #require(docs.first { $0["kind"] as? String == "ServiceAccount" })
        let pod = try #require((ds["spec"] as? [String: Any])?["template"] as? [String: Any])
        let annotations = try #require((pod["metadata"] as? [String: Any])?["annotations"] as? [String: String])
        #expect(annotations["prometheus.io/scrape"] == "true" && annotations["prometheus.io/port"] == "15020")
        let spec = try #require(pod["spec"] as? [String: Any])
        #expect(spec["serviceAccountName"] as? String == (sa["metadata"] as? [String: Any])?["name"] as? String)
        #expect(spec["hostNetwork"] == nil)
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        let security = try #require(container["securityContext"] as? [String: Any])
        let caps = try #require(security["capabilities"] as? [String: [String]])
        #expect(caps["drop"] == ["ALL"])
        #expect(Set(caps["add"] ?? []) == ["NET_ADMIN", "SYS_ADMIN"])
        #expect(security["privileged"] as? Bool == false)
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        let probe = try #require((container["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])
        #expect(probe["port"] as? Int == 15021 && probe["path"] as? String == "/healthz/ready")
        let requests = try #require((container["resources"] as? [String: Any])?["requests"] as? [String: String])
        #expect(requests["cpu"] != nil && requests["memory"] != nil)
        let hostPaths = Set(((spec["volumes"] as? [[String: Any]]) ?? []).compactMap { ($0["hostPath"] as? [String: Any])?["path"] as? String })
        #expect(hostPaths == ["/var/run/ztunnel", "/var/run/netns"])
        let env = Set(((container["env"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String })
        for name in ["LOCAL_XDS_PATH", "ZEST_CACERTS_DIR", "INPOD_UDS", "ISTIO_META_CLUSTER_ID", "POD_NAME", "POD_NAMESPACE",
                     "NODE_NAME", "INSTANCE_IP", "SERVICE_ACCOUNT", "TERMINATION_GRACE_PERIOD_SECONDS", "LOG_FORMAT"] {
            #expect(env.contains(name), "missing env \(name)")
        }
        // zest run refuses to start with these until its xDS and Istio CA clients exist.
        #expect(!env.contains("XDS_ADDRESS") && !env.contains("CA_ADDRESS"))
    }
}

@Suite struct SystemdUnitTests {
    static let analyze = "/usr/bin/systemd-analyze"

    /// The shipped unit with ExecStart pointed at a stand-in executable in a temp dir:
    /// `systemd-analyze verify` refuses a unit whose binary is not installed.
    func unitCopy(in dir: URL) throws -> URL {
        let binary = dir.appendingPathComponent("zest")
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: binary.path)
        let text = try String(contentsOf: Deployment.unit, encoding: .utf8)
        #expect(text.contains("ExecStart=/usr/local/bin/zest run"))
        let copy = dir.appendingPathComponent("zest.service")
        try text.replacingOccurrences(of: "/usr/local/bin/zest", with: binary.path).write(to: copy, atomically: true, encoding: .utf8)
        return copy
    }

    @Test(.enabled(if: Tool.enabled(analyze), Tool.skipReason(analyze, package: "systemd")))
    func unitVerifiesCleanAndIsWellSandboxed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zest-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let unit = try unitCopy(in: dir)
        let verify = try runCommand([Self.analyze, "verify", unit.path])
        #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty,
                "systemd-analyze verify: \(verify.stdout)\(verify.stderr)")
        let security = try runCommand([Self.analyze, "security", "--offline=yes", "--no-pager", unit.path])
        let line = try #require(security.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(score <= 3.0, "exposure \(line)")
    }

    @Test func unitGrantsExactlyNetAdminAndSysAdmin() throws {
        let lines = try String(contentsOf: Deployment.unit, encoding: .utf8).split(separator: "\n")
        func value(_ key: String) -> String? {
            lines.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        #expect(value("CapabilityBoundingSet") == "CAP_NET_ADMIN CAP_SYS_ADMIN")
        #expect(value("AmbientCapabilities") == "CAP_NET_ADMIN CAP_SYS_ADMIN")
        #expect(value("NoNewPrivileges") == "yes")
        #expect(value("ProtectSystem") == "strict")
        #expect(value("ProtectHome") == "yes")
        #expect(value("RestrictNamespaces") == "net")
    }
}
