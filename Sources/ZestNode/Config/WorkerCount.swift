/// How many data-plane workers to run, as ZTUNNEL_WORKER_THREADS says it: a number, `N%` of
/// the CPUs Zest may use, or `0` for all of them.
public enum WorkerCount: Equatable, Sendable, CustomStringConvertible {
    case automatic
    case exactly(Int)
    case percentOfCPUs(Int)

    init?(parsing text: String) {
        let s = text.trimming(" ")
        if s.hasSuffix("%") {
            guard let p = Int(s.dropLast()), (1...100).contains(p) else { return nil }
            self = .percentOfCPUs(p)
        } else {
            guard let n = Int(s), (0...1024).contains(n) else { return nil }
            self = n == 0 ? .automatic : .exactly(n)
        }
    }

    /// The worker count given `cpus` usable CPUs (cgroup limit or online CPUs); at least one.
    public func resolve(cpus: Int) -> Int {
        switch self {
        case .automatic: return max(1, cpus)
        case .exactly(let n): return max(1, n)
        case .percentOfCPUs(let p): return max(1, (cpus * p + 99) / 100)
        }
    }

    public var description: String {
        switch self {
        case .automatic: return "auto"
        case .exactly(let n): return "\(n)"
        case .percentOfCPUs(let p): return "\(p)%"
        }
    }
}
