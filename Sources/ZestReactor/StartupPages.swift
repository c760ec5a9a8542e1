import Glibc

/// Gives back to the kernel the pages of code and read-only data that only start-up touched.
///
/// Start-up (argument parsing, the Swift runtime's metadata scans, certificate loading,
/// OpenSSL's configuration) touches code all over the executable and its libraries, and the
/// kernel maps each touched page with its neighbours (fault-around, 64 KiB). Once the
/// listeners are open those pages stay resident although an idle proxy never runs them again.
/// `release()` drops this process's mappings of such pages with `madvise(MADV_DONTNEED)`:
/// they stay in the page cache, and a later access maps them again (a minor fault, no I/O).
///
/// Only private file mappings without write permission and without any anonymous
/// (copy-on-write) page are released: re-reading them from the file gives the same bytes.
/// In the writable segment only the file-backed pages of the executable's `.rodata`
/// (`ConstantDataPages`) are. Relocated data (RELRO, `.data`), heap and stacks are never touched.
public enum StartupPages {
    /// One mapping `release()` may drop: its address range and the file behind it.
    public struct Mapping: Equatable, Sendable {
        public var start: UInt
        public var end: UInt
        public var path: String

        public init(start: UInt, end: UInt, path: String) {
            self.start = start
            self.end = end
            self.path = path
        }
    }

    /// Drops the resident pages of every releasable mapping and the file-backed pages of the
    /// executable's `.rodata` (`madvise(MADV_DONTNEED)`). Returns the bytes of address space
    /// advised; 0 when neither `/proc/self/smaps` nor the executable's sections are readable.
    @discardableResult
    public static func release() -> Int {
        var advised = 0
        let ranges = (readProcFile("/proc/self/smaps").map(releasableMappings) ?? []).map { ($0.start, Int($0.end - $0.start)) }
        for (start, length) in ranges + ConstantDataPages.fileBackedRanges()
        where madvise(UnsafeMutableRawPointer(bitPattern: start), length, MADV_DONTNEED) == 0 {
            advised += length
        }
        return advised
    }

    /// Resident bytes of the executable's `.rodata` still backed by the file: what `release()`
    /// drops of it (`/proc/self/pagemap`); 0 when it cannot be read.
    public static func residentConstantDataBytes() -> Int {
        ConstantDataPages.fileBackedRanges().reduce(0) { $0 + $1.1 }
    }

    /// The mappings of a `/proc/<pid>/smaps` text that `release()` may drop: backed by a file
    /// (path starting with "/"), private, not writable, and with `Anonymous: 0 kB`.
    public static func releasableMappings(smaps: String) -> [Mapping] {
        var result: [Mapping] = []
        var candidate: Mapping?
        for line in smaps.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if let range = addressRange(first) {
                candidate = nil
                guard fields.count >= 6, fields[5].hasPrefix("/"), fields[1].count == 4 else { continue }
                let perms = Array(fields[1].utf8)
                guard perms[1] == UInt8(ascii: "-"), perms[3] == UInt8(ascii: "p") else { continue }
                candidate = Mapping(start: range.0, end: range.1, path: fields[5...].joined(separator: " "))
            } else if first == "Anonymous:", let mapping = candidate {
                if fields.count >= 2, fields[1] == "0" { result.append(mapping) }
                candidate = nil
            }
        }
        return result
    }

    /// Parses "7f00-7f10" into (start, end); nil for any other field.
    private static func addressRange(_ field: Substring) -> (UInt, UInt)? {
        let parts = field.split(separator: "-")
        guard parts.count == 2, let lo = UInt(parts[0], radix: 16), let hi = UInt(parts[1], radix: 16), lo < hi else { return nil }
        return (lo, hi)
    }

    /// Reads a whole /proc file (their size is not known in advance: read until EOF).
    private static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}
