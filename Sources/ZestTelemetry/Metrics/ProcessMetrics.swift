import Glibc

/// The standard Prometheus process metrics, read from `/proc/self` and `getrlimit` at scrape
/// time: `process_open_fds`, `process_max_fds`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_cpu_seconds_total`, `process_start_time_seconds`.
public struct ProcessMetrics: MetricsCollector {
    public init() {}

    /// Open descriptors: entries of `/proc/self/fd` (minus the one the listing itself uses).
    public static func openFileDescriptors() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { $0.first == UInt8(ascii: ".") }
            if !isDot { n += 1 }
        }
        return max(0, n - 1)
    }

    /// The soft RLIMIT_NOFILE (`getrlimit`).
    public static func maxFileDescriptors() -> UInt64 {
        var lim = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim) == 0 else { return 0 }
        return UInt64(lim.rlim_cur)
    }

    public func collect(into w: inout PrometheusWriter) {
        w.family("process_open_fds", help: "Number of open file descriptors", type: .gauge)
        w.sample("process_open_fds", Int64(Self.openFileDescriptors()))
        w.family("process_max_fds", help: "Maximum number of open file descriptors", type: .gauge)
        w.sample("process_max_fds", Self.maxFileDescriptors())
        guard let stat = ProcStat.read() else { return }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        w.family("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds", type: .counter)
        w.sample("process_cpu_seconds_total", Double(stat.utime + stat.stime) / ticks)
        w.family("process_resident_memory_bytes", help: "Resident memory size in bytes", type: .gauge)
        w.sample("process_resident_memory_bytes", stat.rssPages * page)
        w.family("process_virtual_memory_bytes", help: "Virtual memory size in bytes", type: .gauge)
        w.sample("process_virtual_memory_bytes", stat.vsizeBytes)
        if let boot = ProcStat.bootTime() {
            w.family("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds", type: .gauge)
            w.sample("process_start_time_seconds", Double(boot) + Double(stat.startTicks) / ticks)
        }
    }
}

/// The fields of `/proc/self/stat` the process metrics need.
struct ProcStat {
    var utime: UInt64 = 0
    var stime: UInt64 = 0
    var startTicks: UInt64 = 0
    var vsizeBytes: UInt64 = 0
    var rssPages: UInt64 = 0

    static func read() -> ProcStat? {
        guard let text = readSmallFile("/proc/self/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the parenthesised command name start at field 3 (state).
        let f = text[text.index(after: close)...].split(separator: " ")
        guard f.count > 22 else { return nil }
        func n(_ field: Int) -> UInt64 { UInt64(f[field - 3]) ?? 0 }
        return ProcStat(utime: n(14), stime: n(15), startTicks: n(22), vsizeBytes: n(23), rssPages: n(24))
    }

    /// `btime` from `/proc/stat`: boot time in seconds since the epoch.
    static func bootTime() -> UInt64? {
        guard let text = readSmallFile("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return UInt64(line.dropFirst(6))
        }
        return nil
    }
}

/// Reads a small text file (a /proc entry) with `open`/`read`; nil when it cannot be read.
func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 8192)
    while bytes.count < limit {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
