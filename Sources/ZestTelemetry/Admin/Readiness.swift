import Synchronization

/// Readiness gating as ztunnel's `:15021/healthz/ready`: ready only when every registered
/// task is done. Tasks Zest registers: `certificates`, `configuration`, `enrollment snapshot`.
public final class Readiness: Sendable {
    private let tasks = Mutex<[String: Bool]>([:])

    public init() {}

    /// Registers a pending task and returns its handle. Registering a name twice gives the
    /// same task, pending again.
    public func register(_ name: String) -> ReadinessTask {
        tasks.withLock { $0[name] = false }
        return ReadinessTask(name: name, readiness: self)
    }

    func set(_ name: String, done: Bool) {
        tasks.withLock { $0[name] = done }
    }

    /// Names of the tasks not done yet, sorted.
    public var pending: [String] {
        tasks.withLock { $0.filter { !$0.value }.keys.sorted() }
    }

    public var isReady: Bool { pending.isEmpty }

    /// The `/healthz/ready` handler: 200 `ready`, else 500 `not ready, pending: a, b`; 405 unless GET.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.path == "/healthz/ready" else { return .notFound(request.path) }
        guard request.method == "GET" || request.method == "HEAD" else { return .methodNotAllowed(allow: ["GET"]) }
        let p = pending
        return p.isEmpty ? .text(200, "ready\n") : .text(500, "not ready, pending: \(p.joined(separator: ", "))\n")
    }
}

/// One readiness condition. Mark it ready when done; mark it pending again when it is lost
/// (e.g. the connection to istio-cni dropped).
public struct ReadinessTask: Sendable {
    public let name: String
    let readiness: Readiness

    public func markReady() {
        readiness.set(name, done: true)
    }

    public func markPending() {
        readiness.set(name, done: false)
    }
}
