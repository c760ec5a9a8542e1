import Glibc

/// Process-level preparation the node agent does before it serves: file-descriptor limit and
/// the Linux capabilities its work needs.
public enum ProcessEnvironment {
    /// Raises the soft RLIMIT_NOFILE to the hard limit (as ztunnel does) and returns the new soft limit.
    @discardableResult
    public static func raiseFileLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return UInt64(limit.rlim_cur)
    }

    /// A capability the node agent needs, and what it is needed for.
    public struct Capability: Sendable, Equatable {
        public let name: String
        public let bit: Int
        public let neededFor: String
    }

    public static let required: [Capability] = [
        Capability(name: "CAP_SYS_ADMIN", bit: 21, neededFor: "setns into pod network namespaces"),
        // CAP_NET_ADMIN also covers IP_TRANSPARENT (the kernel accepts NET_ADMIN or NET_RAW),
        // so the DaemonSet and the systemd unit grant these two and nothing else.
        Capability(name: "CAP_NET_ADMIN", bit: 12,
                   neededFor: "nftables rules, SO_MARK and IP_TRANSPARENT sockets that keep the client's address"),
    ]

    /// Capabilities from `required` missing from `effective` (the CapEff mask).
    public static func missing(from effective: UInt64) -> [Capability] {
        required.filter { effective & (UInt64(1) << UInt64($0.bit)) == 0 }
    }

    /// The effective capability mask of this process, read from /proc/self/status.
    public static func effectiveCapabilities() -> UInt64? {
        guard let f = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if text.hasPrefix("CapEff:") {
                let hex = String(text.dropFirst("CapEff:".count)).trimming(" \t\n")
                return UInt64(hex, radix: 16)
            }
        }
        return nil
    }
}
