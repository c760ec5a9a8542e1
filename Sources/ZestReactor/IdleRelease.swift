import Glibc

/// Calls `StartupPages.release()` again once the process has gone quiet after work that
/// mapped code back in (a TLS handshake and the data path map ~9 MiB of code and read-only
/// data that an idle proxy does not need).
///
/// Feed it from a thread that wakes up anyway (`tick()` every few hundred milliseconds): it
/// releases when the process used less than 1 % of one CPU for `quietFor` and its file-backed
/// resident memory grew by at least `growthBytes` since the last release. Reads
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` on every tick and `/proc/self/statm` only when
/// quiet. Not thread-safe: one thread ticks.
public final class IdleRelease {
    /// One observation: process CPU time and wall time, in nanoseconds.
    public struct Sample: Sendable {
        public var cpuNanos: UInt64
        public var wallNanos: UInt64
        public init(cpuNanos: UInt64, wallNanos: UInt64) {
            self.cpuNanos = cpuNanos
            self.wallNanos = wallNanos
        }
    }

    private let quietNanos: UInt64
    private let growthBytes: Int
    private var last: Sample?
    private var quietSince: UInt64?
    private var residentAfterRelease: Int

    /// `residentAfterRelease`: the file-backed resident bytes right after the last release
    /// (the caller's start-up release); 0 lets the first quiet period release.
    public init(quietFor: Duration = .seconds(2), growthBytes: Int = 2 << 20, residentAfterRelease: Int = 0) {
        let c = quietFor.components
        quietNanos = UInt64(c.seconds) * 1_000_000_000 + UInt64(c.attoseconds / 1_000_000_000)
        self.growthBytes = growthBytes
        self.residentAfterRelease = residentAfterRelease
    }

    /// Samples the clocks and releases when due. Returns true when it released.
    @discardableResult
    public func tick() -> Bool {
        guard observe(Self.sample()), let resident = Self.fileBackedResidentBytes() else { return false }
        guard resident >= residentAfterRelease + growthBytes else { return false }
        StartupPages.release()
        residentAfterRelease = Self.fileBackedResidentBytes() ?? 0
        quietSince = nil
        return true
    }

    /// Feeds one sample; true when the process has been quiet (< 1 % of a CPU between
    /// consecutive samples) for the whole `quietFor`.
    public func observe(_ now: Sample) -> Bool {
        defer { last = now }
        guard let last, now.wallNanos > last.wallNanos else { return false }
        let busy = (now.cpuNanos &- last.cpuNanos) * 100 >= now.wallNanos - last.wallNanos
        if busy {
            quietSince = nil
            return false
        }
        let since = quietSince ?? last.wallNanos
        quietSince = since
        return now.wallNanos - since >= quietNanos
    }

    /// The current process CPU time and monotonic wall time.
    public static func sample() -> Sample {
        var cpu = timespec(), wall = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)
        clock_gettime(CLOCK_MONOTONIC, &wall)
        return Sample(cpuNanos: UInt64(cpu.tv_sec) * 1_000_000_000 + UInt64(cpu.tv_nsec),
                      wallNanos: UInt64(wall.tv_sec) * 1_000_000_000 + UInt64(wall.tv_nsec))
    }

    /// RssFile + RssShmem in bytes: the third field of `/proc/self/statm`, in pages.
    public static func fileBackedResidentBytes() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
        guard fields.count >= 3, let pages = Int(fields[2]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
