import Foundation
import Glibc
import ZestTestSupport

/// One test node built from real parts: a router namespace with pod namespaces joined to it
/// by veth pairs (pod i is 10.9.i.2, its gateway 10.9.i.1; on an IPv6 node fd09:i::2 and
/// fd09:i::1 instead, without duplicate address detection), a `zest cni serve` process and
/// `zest run` processes started from the built binary. Every namespace, process and file it
/// made goes in `destroy()`, by name or pid.
final class NodeFixture: @unchecked Sendable {
    struct Pod {
        let name: String
        let namespace: String
        let serviceAccount: String
        let netns: TestNamespace
        let ip: String
        /// The pod's veth end in the router namespace (where a capture sees its traffic).
        let routerInterface: String
        var uid: String { name }
    }

    struct Zest {
        let process: ChildProcess
        let metricsPort: UInt16
        let readinessPort: UInt16
        let adminPort: UInt16
    }

    static var zestBinary: String { PackagePaths.zest ?? PackagePaths.root + "/.build/debug/zest" }

    static let probe: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../scripts/demo/probe.py").standardized.path

    let dir = TempDirectory()
    let router: TestNamespace
    private(set) var pods: [Pod] = []
    private(set) var zests: [Zest] = []
    private(set) var cnis: [ChildProcess] = []
    private(set) var apps: [ChildProcess] = []
    var extraConfig = ""
    /// Pods get IPv6 addresses only (an IPv6-only cluster).
    let ipv6: Bool

    init(ipv6: Bool = false) throws {
        self.ipv6 = ipv6
        router = try TestNamespace("rtr")
        try router.exec(["sysctl", "-qw", ipv6 ? "net.ipv6.conf.all.forwarding=1" : "net.ipv4.ip_forward=1"])
        mkdir(dir.path + "/netns", 0o700)
        mkdir(dir.path + "/pods", 0o700)
        try writeMesh()
    }

    func destroy() {
        for z in zests { z.process.stop() }
        for c in cnis { c.stop() }
        for a in apps { a.stop(grace: .milliseconds(200)) }
        for p in pods { p.netns.destroy() }
        router.destroy()
        dir.destroy()
    }

    /// Adds a pod namespace joined to the router; it is in the mesh config but not enrolled.
    @discardableResult
    func addPod(_ name: String, namespace: String, serviceAccount: String) throws -> Pod {
        let i = pods.count + 1
        let ns = try TestNamespace("pod")
        let side = "r\(ns.name.suffix(12))"
        try runChecked(["ip", "link", "add", side, "netns", router.name, "type", "veth", "peer", "name", "eth0", "netns", ns.name])
        let (gateway, ip, prefix) = ipv6 ? ("fd09:\(i)::1", "fd09:\(i)::2", "/64") : ("10.9.\(i).1", "10.9.\(i).2", "/24")
        let nodad = ipv6 ? ["nodad"] : []
        if ipv6 {
            try router.exec(["sysctl", "-qw", "net.ipv6.conf.\(side).accept_dad=0"])
            try ns.exec(["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"])
        }
        try router.exec(["ip", "addr", "add", gateway + prefix, "dev", side] + nodad)
        try router.exec(["ip", "link", "set", side, "up"])
        try ns.exec(["ip", "addr", "add", ip + prefix, "dev", "eth0"] + nodad)
        try ns.exec(["ip", "link", "set", "eth0", "up"])
        try ns.exec(["ip", "route", "add", "default", "via", gateway])
        let pod = Pod(name: name, namespace: namespace, serviceAccount: serviceAccount, netns: ns, ip: ip,
                      routerInterface: side)
        pods.append(pod)
        symlink(ns.path, dir.path + "/netns/" + ns.name)
        try writeMesh()
        return pod
    }

    /// The mesh (LOCAL_XDS_PATH): one workload per pod, labelled app=<name>, plus `extraConfig`.
    func writeMesh() throws {
        var yaml = "workloads:\n"
        for p in pods {
            yaml += """
            - uid: test//v1/Pod/\(p.namespace)/\(p.name)
              name: \(p.name)
              namespace: \(p.namespace)
              serviceAccount: \(p.serviceAccount)
              workloadIps: ["\(p.ip)"]
              protocol: HBONE
              node: node1
              labels:
                app: \(p.name)

            """
        }
        try yaml.write(toFile: dir.path + "/mesh.yaml", atomically: true, encoding: .utf8)
        try (extraConfig.isEmpty ? "{}\n" : extraConfig).write(toFile: dir.path + "/policies.yaml", atomically: true, encoding: .utf8)
    }

    /// Starts a pod's app: the probe echo server on `port`.
    @discardableResult
    func startApp(in pod: Pod, port: Int = 8080) throws -> ChildProcess {
        let app = try ChildProcess(["python3", Self.probe, "serve", "\(port)", pod.name] + (ipv6 ? ["::"] : []),
                                   netns: pod.netns.name,
                                   outputPath: dir.path + "/app-\(pod.name)-\(apps.count).log")
        apps.append(app)
        _ = waitUntil(timeout: .seconds(10)) { app.output.contains("listening") }
        return app
    }

    /// One connection from `pod` to `target:port` through the probe; the greeting or the error.
    func connect(from pod: Pod, to target: String, port: Int = 8080) -> (ok: Bool, text: String) {
        connect(from: pod.netns, to: target, port: port)
    }

    func connect(from netns: TestNamespace, to target: String, port: Int = 8080) -> (ok: Bool, text: String) {
        let r = try? runCommand(["ip", "netns", "exec", netns.name, "python3", Self.probe, "connect", target, "\(port)"])
        let text = (r?.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        return (r?.succeeded ?? false, text)
    }

    func socketPath(_ n: Int) -> String { dir.path + "/ztunnel-\(n).sock" }

    /// Starts `zest cni serve` on socket `n`, serving this node's pods directory.
    @discardableResult
    func startCNI(socket n: Int = 0) throws -> ChildProcess {
        let p = try ChildProcess([Self.zestBinary, "cni", "serve", "--socket", socketPath(n), "--pods-dir", dir.path + "/pods",
                                  "--scan-interval-ms", "20"], outputPath: dir.path + "/cni-\(n)-\(cnis.count).log")
        cnis.append(p)
        return p
    }

    /// Starts `zest run` connecting to socket `n`, its telemetry on free loopback ports.
    @discardableResult
    func startZest(socket n: Int = 0, deadline: String = "5s", environment: [String: String] = [:]) throws -> Zest {
        let (m, r, a) = (try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort())
        var env = [
            "INPOD_UDS": socketPath(n), "ZEST_STATE_DIR": dir.path + "/state",
            "LOCAL_XDS_PATH": dir.path + "/mesh.yaml," + dir.path + "/policies.yaml",
            "ZEST_NETNS_DIR": dir.path + "/netns", "CONNECTION_TERMINATION_DEADLINE": deadline,
            "ZTUNNEL_WORKER_THREADS": "2", "ZEST_METRICS_ADDRESS": "127.0.0.1:\(m)",
            "ZEST_READINESS_ADDRESS": "127.0.0.1:\(r)", "ZEST_ADMIN_ADDRESS": "127.0.0.1:\(a)",
        ]
        for (k, v) in environment { env[k] = v }
        let p = try ChildProcess([Self.zestBinary, "run"], environment: env,
                                 outputPath: dir.path + "/zest-\(zests.count).log")
        let z = Zest(process: p, metricsPort: m, readinessPort: r, adminPort: a)
        zests.append(z)
        return z
    }

    /// Enrolls a running pod: writes its pod file (as `zest cni add` does).
    func enroll(_ pod: Pod) throws {
        try runChecked([Self.zestBinary, "cni", "add", "--pods-dir", dir.path + "/pods", "--netns", pod.netns.path,
                        "--uid", pod.uid, "--name", pod.name, "--namespace", pod.namespace,
                        "--service-account", pod.serviceAccount])
    }

    func unenroll(_ pod: Pod) throws {
        try runChecked([Self.zestBinary, "cni", "del", "--pods-dir", dir.path + "/pods", "--uid", pod.uid])
    }
}

extension NodeFixture.Zest {
    func fetch(_ port: UInt16, _ path: String) -> TestHTTPResponse? { try? httpRequest(port: port, path) }

    var readiness: TestHTTPResponse? { fetch(readinessPort, "/healthz/ready") }
    var metrics: String { fetch(metricsPort, "/metrics")?.body ?? "" }

    /// Sum of the samples of `name` whose labels include every `labels` pair.
    func metric(_ name: String, _ labels: [String: String] = [:]) -> Double {
        metricSum(metrics, name, labels)
    }

    var configDump: [String: Any] {
        guard let body = fetch(adminPort, "/config_dump")?.body,
              let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return [:] }
        return json
    }

    /// Pod uid → state ("Up", "Pending") from `/config_dump` `workloadState.pods`.
    var podStates: [String: String] {
        let pods = (configDump["workloadState"] as? [String: Any])?["pods"] as? [String: Any] ?? [:]
        return pods.compactMapValues { ($0 as? [String: Any])?["state"] as? String }
    }

    func quit() -> TestHTTPResponse? { try? httpRequest(port: adminPort, method: "POST", "/quitquitquit") }
}

/// Sum of the samples of metric `name` in Prometheus text whose labels include `labels`.
func metricSum(_ text: String, _ name: String, _ labels: [String: String]) -> Double {
    var total = 0.0
    for line in text.split(separator: "\n") where line.hasPrefix(name) {
        let rest = line.dropFirst(name.count)
        guard rest.first == "{" || rest.first == " " else { continue }
        let labelText = rest.first == "{" ? String(rest[rest.index(after: rest.startIndex)..<(rest.lastIndex(of: "}") ?? rest.endIndex)]) : ""
        guard labels.allSatisfy({ labelText.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
        if let v = line.split(separator: " ").last.flatMap({ Double($0) }) { total += v }
    }
    return total
}
