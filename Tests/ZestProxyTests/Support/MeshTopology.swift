import Foundation
import Glibc
import ZestCore
import ZestIdentity
import ZestPolicy
import ZestProxy
import ZestReactor
import ZestRedirect
import ZestTelemetry
import ZestTestSupport

/// Two pods and a node, each in its own network namespace: pod A (10.60.1.2 and/or
/// fd60:1::2) and pod B (10.60.2.2 and/or fd60:2::2) hang off the node namespace by veth
/// pairs and route through it; `MeshFamilies` says which families they have. The test
/// process plays the node agent: it holds the CA, the mesh state, the worker group and the
/// pods' proxies, and installs capture with `PodCapture`.
final class MeshTopology {
    static let aIP = MeshFamilies.aIPv4
    static let bIP = MeshFamilies.bIPv4
    static let nodeIPTowardsA = MeshFamilies.nodeIPv4TowardsA
    static let nodeIPTowardsB = MeshFamilies.nodeIPv4TowardsB
    static let appPort: UInt16 = 8080

    let families: MeshFamilies

    let node: TestNamespace
    let podA: TestNamespace
    let podB: TestNamespace
    let nodeHandle: NetNamespace
    let aHandle: NetNamespace
    let bHandle: NetNamespace
    let thread: NetnsThread
    let capture: PodCapture
    let workers: WorkerGroup
    let stateDirectoryPath: String
    let certificates: CertificateManager
    let mesh: MeshStateCell
    let metrics = TrafficMetrics()
    let logPath: String
    let logger: Logger
    private let stateDirectory: String
    private var processes: [NamespacedProcess] = []

    let workloadA: Workload
    let workloadB: Workload

    init(_ label: String, families: MeshFamilies = .ipv4) throws {
        self.families = families
        workloadA = Workload(uid: "cluster//Pod/ns-a/pod-a", name: "pod-a", namespace: "ns-a", serviceAccount: "sa-a",
                             addresses: families.podA, labels: ["app": "client"])
        workloadB = Workload(uid: "cluster//Pod/ns-b/pod-b", name: "pod-b", namespace: "ns-b", serviceAccount: "sa-b",
                             addresses: families.podB, labels: ["app": "server"])
        var made: [TestNamespace] = []
        do {
            node = try TestNamespace(label + "n")
            made.append(node)
            podA = try TestNamespace(label + "a")
            made.append(podA)
            podB = try TestNamespace(label + "b")
            made.append(podB)
            try Self.link(podA, families.linkA, to: node)
            try Self.link(podB, families.linkB, to: node)
            for gateway in families.gatewaysA { try Self.addDefaultRoute(podA, via: gateway) }
            for gateway in families.gatewaysB { try Self.addDefaultRoute(podB, via: gateway) }
            if families.hasIPv4 { try node.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]) }
            if families.hasIPv6 { try node.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]) }
            nodeHandle = try NetNamespace(path: node.path)
            aHandle = try NetNamespace(path: podA.path)
            bHandle = try NetNamespace(path: podB.path)
            thread = try NetnsThread()
            capture = PodCapture(mode: .zest(CaptureOptions()), thread: thread)
            workers = try WorkerGroup(workers: 2, bufferPool: testPool) { _ in }
            stateDirectory = NSTemporaryDirectory() + "zest-proxy-\(getpid())-\(label)-\(UInt32.random(in: 0...UInt32.max))"
            certificates = CertificateManager(provider: try EmbeddedCA.loadOrCreate(stateDirectory: stateDirectory,
                                                                                   trustDomain: "cluster.local"))
            mesh = MeshStateCell(MeshState(workloads: [workloadA, workloadB]))
            stateDirectoryPath = stateDirectory
            logPath = stateDirectory + "/zest.log"
            let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            logger = Logger(sink: LogSink(fd: fd), format: .plain, level: .info)
        } catch {
            for ns in made { ns.destroy() }
            throw error
        }
    }

    /// The node's veth end towards pod A, where the packet capture listens.
    var nodeVethTowardsA: String { Self.nodeVeth(podA) }

    private static func nodeVeth(_ pod: TestNamespace) -> String { "n" + String(pod.name.suffix(10)) }

    /// A veth pair between a pod and the node, named after the pod so several pods fit, with one
    /// (pod, node) address pair per family.
    /// IPv6 addresses skip duplicate address detection (`nodad`, and `accept_dad=0` before
    /// the link comes up, so its link-local address is not tentative either): otherwise they
    /// stay unusable for about a second.
    static func link(_ pod: TestNamespace, _ addresses: [(pod: String, node: String)], to node: TestNamespace) throws {
        let p = "p" + String(pod.name.suffix(10)), n = nodeVeth(pod)
        try runChecked(["ip", "link", "add", p, "netns", pod.name, "type", "veth", "peer", "name", n, "netns", node.name])
        for (ns, dev) in [(pod, p), (node, n)] where addresses.contains(where: { $0.pod.contains(":") }) {
            try ns.exec(["sysctl", "-qw", "net.ipv6.conf.\(dev).accept_dad=0"])
        }
        for a in addresses {
            let v6 = a.pod.contains(":") ? ["nodad"] : []
            try runChecked(["ip", "-n", pod.name, "addr", "add", a.pod, "dev", p] + v6)
            try runChecked(["ip", "-n", node.name, "addr", "add", a.node, "dev", n] + v6)
        }
        try runChecked(["ip", "-n", pod.name, "link", "set", p, "up"])
        try runChecked(["ip", "-n", node.name, "link", "set", n, "up"])
    }

    /// `ip route add default via gateway` (`ip -6` for an IPv6 gateway) inside `pod`.
    static func addDefaultRoute(_ pod: TestNamespace, via gateway: IPAddress) throws {
        try runChecked(["ip", gateway.isIPv4 ? "-4" : "-6", "-n", pod.name, "route", "add", "default", "via", "\(gateway)"])
    }

    var podDescriptionA: PodDescription {
        PodDescription(uid: workloadA.uid, name: "pod-a", namespace: "ns-a", serviceAccount: "sa-a", addresses: workloadA.addresses)
    }

    var podDescriptionB: PodDescription {
        PodDescription(uid: workloadB.uid, name: "pod-b", namespace: "ns-b", serviceAccount: "sa-b", addresses: workloadB.addresses)
    }

    /// Enrolls a pod as the node agent does: capture rules in its namespace, then its proxies
    /// (making their sockets through `network`, by default `NetnsPodNetwork` in `handle`).
    func enroll(_ pod: PodDescription, _ handle: NetNamespace, network: (any PodNetwork)? = nil) throws -> PodProxySet {
        try capture.install(in: handle)
        return try PodProxySet(PodProxySet.Configuration(
            pod: pod, network: network ?? NetnsPodNetwork(thread: thread, namespace: handle), mesh: mesh,
            certificates: certificates, metrics: metrics, logger: logger), workers: workers)
    }

    /// Enrolls pod B, then pod A (the server side first), as the mesh describes them; if A
    /// cannot be enrolled, B's proxies are stopped again before the error is thrown.
    func enrollBoth() throws -> (a: PodProxySet, b: PodProxySet) {
        let b = try enroll(podDescriptionB, bHandle)
        do {
            return (try enroll(podDescriptionA, aHandle), b)
        } catch {
            b.stop()
            throw error
        }
    }

    /// Removes a pod: proxies stop, then the rules go.
    func unenroll(_ proxies: PodProxySet, _ handle: NetNamespace) throws {
        proxies.stop()
        try capture.remove(from: handle)
    }

    /// Starts the echo app (`EchoApp.script`) inside `ns` on `port` and waits until it listens.
    /// Returns its process id.
    @discardableResult
    func startApp(in ns: TestNamespace, port: UInt16 = MeshTopology.appPort) throws -> Int32 {
        let p = try NamespacedProcess(in: ns, ["/usr/bin/env", "python3", "-c", EchoApp.script, String(port),
                                               families.appBindHost],
                                      log: stateDirectory + "/app-\(ns.name)-\(port).log")
        processes.append(p)
        let listening = waitUntil(timeout: .seconds(10), poll: .milliseconds(20)) {
            let out = (try? ns.exec(["ss", "-Hltn", "sport = :\(port)"])) ?? ""
            return !out.isEmpty
        }
        guard listening else { throw TopologyError("the echo app in \(ns.name) did not listen on \(port): \(p.output)") }
        return p.pid
    }

    /// Whether a process this topology started is still the same running process.
    func isRunning(_ pid: Int32) -> Bool {
        processes.contains { $0.pid == pid && $0.isRunning }
    }

    /// Opens a plain (unmarked, so captured) blocking TCP connection, IPv4 or IPv6 as
    /// `destination` is, from inside `handle`.
    func connect(from handle: NetNamespace, to destination: SocketAddress) throws -> Socket {
        let fd = try thread.run(in: handle) { () throws -> Int32 in
            let fd = socket(destination.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SyscallError("socket", errno: errno) }
            return fd
        }
        let s = Socket(owning: FileDescriptor(rawValue: fd))
        try s.setReceiveTimeout(.seconds(10))
        let rc = destination.withSockaddr { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else { throw SyscallError("connect", errno: errno) }
        return s
    }

    /// Lines the logger wrote so far.
    func logText() -> String {
        logger.flush()
        return (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    func destroy() {
        workers.shutdown()
        for p in processes { p.stop(SIGKILL) }
        podA.destroy()
        podB.destroy()
        node.destroy()
        if getenv("ZEST_KEEP_TEST_STATE") == nil { _ = try? FileManager.default.removeItem(atPath: stateDirectory) }
    }
}

struct TopologyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
