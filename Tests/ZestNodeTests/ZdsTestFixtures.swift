import Foundation
import Glibc
import Synchronization
import ZestNode
import ZestTestSupport

/// An `EnrollmentDelegate` that records what the protocol asked of it and keeps each
/// enrolled pod's namespace handle, as the capture layer would. `failuresLeft` makes the
/// next enrollments throw, to exercise NACK and retry.
final class RecordingDelegate: EnrollmentDelegate {
    struct Record {
        var events: [String] = []
        var handles: [PodUID: NetNamespaceHandle] = [:]
        var failuresLeft = 0
        var failureDetail = ""
        var snapshots = 0
    }

    struct EnrollFailed: Error, CustomStringConvertible {
        var detail = ""
        var description: String { "listener port 15008 still held" + detail }
    }

    let record = Mutex(Record())

    var events: [String] { record.withLock { $0.events } }
    var snapshots: Int { record.withLock { $0.snapshots } }
    func handle(_ uid: String) -> NetNamespaceHandle? { record.withLock { $0.handles[PodUID(uid)] } }
    func failNext(_ n: Int, detail: String = "") {
        record.withLock { $0.failuresLeft = n; $0.failureDetail = detail }
    }
    func count(_ event: String) -> Int { events.filter { $0 == event }.count }

    func enroll(_ uid: PodUID, info: WorkloadInfo, netns: NetNamespaceHandle) throws {
        try record.withLock { r in
            if r.failuresLeft > 0 {
                r.failuresLeft -= 1
                r.events.append("fail \(uid)")
                throw EnrollFailed(detail: r.failureDetail)
            }
            r.events.append("enroll \(uid) \(info.namespace)/\(info.name)/\(info.serviceAccount)")
            r.handles[uid] = netns
        }
    }

    func keep(_ uid: PodUID) { record.withLock { $0.events.append("keep \(uid)") } }

    func remove(_ uid: PodUID) {
        record.withLock { r in
            r.events.append("remove \(uid)")
            r.handles[uid] = nil
        }
    }

    func snapshotComplete() { record.withLock { $0.events.append("snapshot"); $0.snapshots += 1 } }
}

/// A unique temporary directory for one test's socket, removed by `destroy()`.
struct TempDirectory {
    private static let counter = Atomic(0)
    let path: String

    init() {
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        path = "/tmp/zds-\(getpid())-\(n)"
        _ = try? runCommand(["rm", "-rf", path])
        mkdir(path, 0o700)
    }

    var socketPath: String { path + "/ztunnel.sock" }

    func destroy() { _ = try? runCommand(["rm", "-rf", path]) }
}

/// A client pointed at `socketPath` with fast backoff and retry, so tests finish quickly.
func makeClient(_ socketPath: String, delegate: RecordingDelegate,
                retry: Duration = .milliseconds(50)) -> ZdsClient {
    var config = ZdsClient.Configuration(socketPath: socketPath)
    config.backoff = Backoff(initial: .milliseconds(5), maximum: .milliseconds(100), jitter: 0)
    config.retryInterval = retry
    config.log = { _ in }
    return ZdsClient(configuration: config, delegate: delegate)
}

func deadline(_ seconds: Int = 5) -> ContinuousClock.Instant { .now + .seconds(seconds) }

/// Accepts the client's connection and checks its hello.
func acceptClient(_ server: ZdsServer) throws -> ZdsServerConnection {
    guard let conn = try server.accept(until: deadline()) else { throw TestTimeout("client connection") }
    _ = try conn.receiveHello(until: deadline())
    return conn
}

struct TestTimeout: Error, CustomStringConvertible {
    let what: String
    init(_ what: String) { self.what = what }
    var description: String { "timed out waiting for \(what)" }
}

func info(_ name: String) -> WorkloadInfo {
    WorkloadInfo(name: name, namespace: "shop", serviceAccount: "sa-\(name)")
}

/// The identity of this process's own network namespace.
func ownNetns() throws -> NamespaceIdentity { try NetNamespaceHandle.identity(atPath: "/proc/self/ns/net") }

/// Entries of /proc/self/fd whose link target satisfies `matches` (readlink(2)).
func openDescriptors(where matches: (String) -> Bool) -> [String] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
    return entries.compactMap { entry in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)") else { return nil }
        return matches(target) ? target : nil
    }
}

/// How many of this process's descriptors refer to the namespace `identity` (stat(2) of
/// each /proc/self/fd entry, which follows the descriptor to its nsfs inode).
func openDescriptors(of identity: NamespaceIdentity) -> Int {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return 0 }
    return entries.filter { entry in
        (try? NetNamespaceHandle.identity(atPath: "/proc/self/fd/\(entry)")) == identity
    }.count
}

/// A ZDS server in a temporary directory and a started client with a recording delegate,
/// torn down (client stopped, directory removed) when `body` returns.
struct ZdsTestBed {
    let dir: TempDirectory
    let server: ZdsServer
    let delegate: RecordingDelegate
    let client: ZdsClient

    /// The client's status, for brevity in expectations.
    var status: EnrollmentStatus { client.status }

    /// Accepts the client's (next) connection and checks its hello.
    func connection() throws -> ZdsServerConnection { try acceptClient(server) }
}

func withTestBed<T>(retry: Duration = .milliseconds(50), failFirst: Int = 0,
                    _ body: (ZdsTestBed) throws -> T) throws -> T {
    let dir = TempDirectory()
    defer { dir.destroy() }
    let server = try ZdsServer(path: dir.socketPath)
    let delegate = RecordingDelegate()
    delegate.failNext(failFirst)
    let client = makeClient(dir.socketPath, delegate: delegate, retry: retry)
    client.start()
    defer { client.stop() }
    return try body(ZdsTestBed(dir: dir, server: server, delegate: delegate, client: client))
}
