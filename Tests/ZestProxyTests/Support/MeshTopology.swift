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

/// Two pods and a node, each in its own network namespace: pod A (10.60.1.2) and pod B
/// (10.60.2.2) hang off the node namespace by veth pairs and route through it. The test
/// process plays the node agent: it holds the CA, the mesh state, the worker group and the
/// pods' proxies, and installs capture with `PodCapture`.
final class MeshTopology {
    static let aIP = IPAddress("10.60.1.2")!
    static let bIP = IPAddress("10.60.2.2")!
    static let nodeIPTowardsA = IPAddress("10.60.1.1")!
    static let nodeIPTowardsB = IPAddress("10.60.2.1")!
    static let appPort: UInt16 = 8080

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

    let workloadA = Workload(uid: "cluster//Pod/ns-a/pod-a", name: "pod-a", namespace: "ns-a", serviceAccount: "sa-a",
                             addresses: [MeshTopology.aIP], labels: ["app": "client"])
    let workloadB = Workload(uid: "cluster//Pod/ns-b/pod-b", name: "pod-b", namespace: "ns-b", serviceAccount: "sa-b",
                             addresses: [MeshTopology.bIP], labels: ["app": "server"])

    init(_ label: String) throws {
        var made: [TestNamespace] = []
        do {
            node = try TestNamespace(label + "n")
            made.append(node)
            podA = try TestNamespace(label + "a")
            made.append(podA)
            podB = try TestNamespace(label + "b")
            made.append(podB)
            try Self.link(podA, "10.60.1.2/24", to: node, "10.60.1.1/24")
            try Self.link(podB, "10.60.2.2/24", to: node, "10.60.2.1/24")
            try runChecked(["ip", "-n", podA.name, "route", "add", "default", "via", "10.60.1.1"])
            try runChecked(["ip", "-n", podB.name, "route", "add", "default", "via", "10.60.2.1"])
            try node.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
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

    /// A veth pair between a pod and the node, named after the pod so several pods fit.
    static func link(_ pod: TestNamespace, _ podAddress: String, to node: TestNamespace, _ nodeAddress: String) throws {
        let p = "p" + String(pod.name.suffix(10)), n = nodeVeth(pod)
        try runChecked(["ip", "link", "add", p, "netns", pod.name, "type", "veth", "peer", "name", n, "netns", node.name])
        try runChecked(["ip", "-n", pod.name, "addr", "add", podAddress, "dev", p])
        try runChecked(["ip", "-n", node.name, "addr", "add", nodeAddress, "dev", n])
        try runChecked(["ip", "-n", pod.name, "link", "set", p, "up"])
        try runChecked(["ip", "-n", node.name, "link", "set", n, "up"])
    }

    var podDescriptionA: PodDescription {
        PodDescription(uid: workloadA.uid, name: "pod-a", namespace: "ns-a", serviceAccount: "sa-a", addresses: [Self.aIP])
    }

    var podDescriptionB: PodDescription {
        PodDescription(uid: workloadB.uid, name: "pod-b", namespace: "ns-b", serviceAccount: "sa-b", addresses: [Self.bIP])
    }

    /// Enrolls a pod as the node agent does: capture rules in its namespace, then its proxies.
    func enroll(_ pod: PodDescription, _ handle: NetNamespace) throws -> PodProxySet {
        try capture.install(in: handle)
        return try PodProxySet(PodProxySet.Configuration(
            pod: pod, network: NetnsPodNetwork(thread: thread, namespace: handle), mesh: mesh,
            certificates: certificates, metrics: metrics, logger: logger), workers: workers)
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
        let p = try NamespacedProcess(in: ns, ["/usr/bin/env", "python3", "-c", EchoApp.script, String(port)],
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

    /// Opens a plain (unmarked, so captured) blocking TCP connection from inside `handle`.
    func connect(from handle: NetNamespace, to destination: SocketAddress) throws -> Socket {
        let fd = try thread.run(in: handle) { () throws -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SyscallError("socket", errno: errno) }
            return fd
        }
        let s = Socket(owning: FileDescriptor(rawValue: fd))
        try s.setReceiveTimeout(.seconds(10))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = destination.port.bigEndian
        guard case .v4(let a) = destination.ip else { throw SyscallError("connect", errno: EAFNOSUPPORT) }
        sin.sin_addr.s_addr = a.bigEndian
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
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
