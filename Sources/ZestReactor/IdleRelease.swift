import Glibc

/// Calls `StartupPages.release()` again once the process has gone quiet after work that
/// mapped code back in (a TLS handshake and the data path map ~9 MiB of code and read-only
/// data that an idle proxy does not need).
///
/// Call `releaseNow()` once start-up is over, then `tick()` from a thread that wakes up anyway
/// (every few hundred milliseconds): it releases again when the process used less than 1 % of
/// one CPU for `quietFor` and its file-backed resident memory grew by at least `growthBytes`
/// since the last release. Reads
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

    /// Reads the clocks and `/proc/self/statm` once, so that the code `tick()` runs is warm
    /// (its generic metadata instantiated) before `releaseNow()` drops what start-up mapped.
    public init(quietFor: Duration = .seconds(10), growthBytes: Int = 2 << 20) {
        let c = quietFor.components
        quietNanos = UInt64(c.seconds) * 1_000_000_000 + UInt64(c.attoseconds / 1_000_000_000)
        self.growthBytes = growthBytes
        residentAfterRelease = Self.fileBackedResidentBytes() ?? 0
        last = Self.sample()
    }

    /// Drops the resident read-only file pages now (`StartupPages.release()`) and takes the
    /// file-backed resident memory after it as the new reference.
    public func releaseNow() {
        StartupPages.release()
        residentAfterRelease = Self.fileBackedResidentBytes() ?? 0
        quietSince = nil
    }

    /// Samples the clocks and releases when due. Returns true when it released.
    @discardableResult
    public func tick() -> Bool {
        guard observe(Self.sample()), let resident = Self.fileBackedResidentBytes(),
              resident >= residentAfterRelease + growthBytes else { return false }
        releaseNow()
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

    /// RssFile + RssShmem in bytes: the third field of `/proc/self/statm`, in pages. Parsed
    /// from the raw bytes, without String machinery, so that it maps little code when it runs.
    public static func fileBackedResidentBytes() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                      UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { raw -> Int? in
            let n = read(fd, raw.baseAddress, raw.count)
            guard n > 0 else { return nil }
            var field = 0, value = 0, digits = 0
            for byte in raw.prefix(n) {
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                    if field == 2 { break }
                    field += 1
                    value = 0
                    digits = 0
                } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                    digits += 1
                } else {
                    return nil
                }
            }
            guard field == 2, digits > 0 else { return nil }
            return value * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
    }
}
