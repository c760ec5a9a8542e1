import Glibc

/// How many worker threads to run by default: the CPU limit of our cgroup (v2 `cpu.max`, then
/// v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`), else the online CPUs, never more than online.
public enum CPUCount {
    /// The CPU-aware default worker count (at least 1).
    public static func defaultWorkerCount() -> Int {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let limit = cgroupV2Limit(readFile("/sys/fs/cgroup/cpu.max"))
            ?? cgroupV1Limit(quota: readFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
                                 ?? readFile("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"),
                             period: readFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
                                 ?? readFile("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us"))
        return max(1, min(online, limit ?? online))
    }

    /// Parses cgroup v2 `cpu.max` ("max 100000" or "150000 100000"): whole CPUs, rounded up.
    public static func cgroupV2Limit(_ text: String?) -> Int? {
        guard let parts = text?.split(whereSeparator: { $0 == " " || $0 == "\n" }), parts.count >= 2,
              let quota = Int(parts[0]), let period = Int(parts[1]), quota > 0, period > 0 else { return nil }
        return (quota + period - 1) / period
    }

    /// Parses cgroup v1 CFS quota and period (quota -1 means unlimited): whole CPUs, rounded up.
    public static func cgroupV1Limit(quota: String?, period: String?) -> Int? {
        guard let q = quota.flatMap({ Int($0.filter { !$0.isWhitespace }) }),
              let p = period.flatMap({ Int($0.filter { !$0.isWhitespace }) }), q > 0, p > 0 else { return nil }
        return (q + p - 1) / p
    }

    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 256) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }
}
