import Foundation
import ZestTestSupport

/// Two network namespaces joined by a veth pair — "node A" (10.203.0.1) with the client side
/// and "node B" (10.203.0.2) with the HBONE server and an echo backend — so the only path
/// between a client and the backend is the tunnel. Everything started here is stopped by
/// `tearDown()`, by pid, and the namespaces are deleted.
final class InteropTopology {
    static let addressA = "10.203.0.1", addressB = "10.203.0.2"
    let a: TestNamespace
    let b: TestNamespace
    let dir: String
    let certs: TestCertificates
    private var children: [ChildProcess] = []

    init(_ label: String) throws {
        dir = try TestPaths.scratch(label)
        certs = try TestCertificates(directory: dir)
        a = try TestNamespace(label + "a")
        do {
            b = try TestNamespace(label + "b")
        } catch {
            a.destroy()
            throw error
        }
        try connectNamespaces(a, Self.addressA + "/24", b, Self.addressB + "/24")
    }

    /// Starts `argv` inside `ns` and keeps it for teardown.
    @discardableResult
    func start(in ns: TestNamespace, _ name: String, _ argv: [String]) throws -> ChildProcess {
        let c = try ChildProcess(["ip", "netns", "exec", ns.name] + argv, log: dir + "/\(name).log")
        children.append(c)
        return c
    }

    /// Starts an echo backend in node B listening on `host:port`; `late` answers only after EOF.
    func startEchoBackend(host: String, port: UInt16, late: Bool = false) throws {
        let c = try start(in: b, "backend-\(port)", ["python3", "-u", TestPaths.fixtures + "/tcp_echo_server.py", host, String(port)]
                          + (late ? ["late"] : []))
        guard waitUntil(timeout: .seconds(10), { c.log.contains("ready") }) else {
            throw HarnessFailure("echo backend did not start: \(c.log)")
        }
    }

    /// Starts Envoy with `config` in `ns`; `baseID` keeps two Envoys on one host apart.
    func startEnvoy(in ns: TestNamespace, _ name: String, config: String, baseID: Int) throws -> ChildProcess {
        let path = dir + "/\(name).yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return try start(in: ns, name, [TestPaths.envoy, "-c", path, "--disable-hot-restart", "--base-id", String(baseID),
                                        "--concurrency", "1", "-l", "warning"])
    }

    /// Waits until `host:port` accepts TCP connections from inside `ns`.
    func waitForPort(in ns: TestNamespace, host: String, port: UInt16, what: ChildProcess? = nil) throws {
        let r = try runCommand(["ip", "netns", "exec", ns.name, "python3", TestPaths.fixtures + "/wait_port.py", host, String(port), "15"])
        guard r.succeeded else { throw HarnessFailure("\(host):\(port) never accepted connections: \(what?.log ?? "")") }
    }

    /// Runs the echo client in node A against `host:port`, `parallel` connections of `count`
    /// bytes each; ok when every echo matched byte for byte (sha256).
    func echo(from ns: TestNamespace? = nil, host: String, port: UInt16, count: Int, parallel: Int = 1) throws -> (ok: Bool, report: String) {
        let r = try runCommand(["ip", "netns", "exec", (ns ?? a).name, "python3", TestPaths.fixtures + "/tcp_echo_client.py",
                                host, String(port), String(count), "15", String(parallel)])
        let out = r.stdout + r.stderr
        let lines = out.split(separator: "\n").filter { $0.hasPrefix("sent=") }
        let ok = lines.count == parallel && lines.allSatisfy { line in
            let fields = Dictionary(uniqueKeysWithValues: line.split(separator: " ").compactMap { f -> (String, String)? in
                let kv = f.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
            })
            return fields["sent"] != nil && fields["sent"] == fields["received"] && fields["bytes"] == String(count)
        }
        return (ok, out)
    }

    /// The built `zest` executable, or a failure saying how to build it.
    static func zestExecutable() throws -> String {
        guard FileManager.default.isExecutableFile(atPath: TestPaths.zest) else {
            throw HarnessFailure("\(TestPaths.zest) is missing; run `swift build --build-tests` (or `swift build --product zest`) first")
        }
        return TestPaths.zest
    }

    /// Starts `zest tunnel-server` in node B on `listen`.
    func startZestServer(listen: String, tls: EnvoyConfig.TLSFiles, drainSeconds: Int = 0) throws -> ChildProcess {
        _ = try Self.zestExecutable()
        return try start(in: b, "zest-server", [TestPaths.zest, "tunnel-server", "--listen", listen, "--cert", tls.certificate,
                                                "--key", tls.privateKey, "--ca", tls.trustedCA, "--workers", "1",
                                                "--drain-seconds", String(drainSeconds)])
    }

    /// Starts `zest tunnel` in node A.
    func startZestClient(listen: String, peer: String, authority: String, tls: EnvoyConfig.TLSFiles,
                         expect: String) throws -> ChildProcess {
        _ = try Self.zestExecutable()
        return try start(in: a, "zest-client", [TestPaths.zest, "tunnel", "--listen", listen, "--peer", peer, "--authority", authority,
                                         "--cert", tls.certificate, "--key", tls.privateKey, "--ca", tls.trustedCA,
                                         "--expect-identity", expect, "--workers", "1"])
    }

    /// Starts the echo client in node A in the background (see `echo` for the report format).
    func startEchoClient(host: String, port: UInt16, count: Int) throws -> ChildProcess {
        try start(in: a, "echo-client", ["python3", "-u", TestPaths.fixtures + "/tcp_echo_client.py", host, String(port),
                                         String(count), "15", "1"])
    }

    func logs() -> String { children.map { "--- \($0.logPath)\n\($0.log.suffix(3000))" }.joined(separator: "\n") }

    func tearDown() {
        for c in children.reversed() { c.stop() }
        children.removeAll()
        b.destroy()
        a.destroy()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
