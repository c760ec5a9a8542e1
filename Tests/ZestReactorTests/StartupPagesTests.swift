import Glibc
import Testing
@testable import ZestReactor

@Suite struct StartupPagesTests {
    /// Mappings as /proc/<pid>/smaps shows them (fields not used by the parser left out).
    static let sample = """
        55d0a0000000-55d0a1000000 r-xp 00000000 fe:00 123 /usr/bin/zest
        Size:              16384 kB
        Rss:                4096 kB
        Anonymous:             0 kB
        55d0a1000000-55d0a1100000 r--p 01000000 fe:00 123 /usr/bin/zest
        Rss:                1024 kB
        Anonymous:          1020 kB
        55d0a1100000-55d0a1200000 rw-p 01100000 fe:00 123 /usr/bin/zest
        Anonymous:            64 kB
        55d0a2000000-55d0a2100000 rw-p 00000000 00:00 0 [heap]
        Anonymous:          1024 kB
        7f0000000000-7f0000100000 r--s 00000000 fe:00 456 /var/lib/data file
        Anonymous:             0 kB
        7f0000100000-7f0000200000 r--p 00000000 fe:00 789 /opt/lib/lib with space.so
        Anonymous:             0 kB
        7f0000200000-7f0000300000 ---p 00000000 00:00 0
        Anonymous:             0 kB
        7f0000300000-7f0000301000 r-xp 00000000 00:00 0 [vdso]
        Anonymous:             0 kB
        """

    @Test func onlyPrivateReadOnlyFileMappingsWithoutCopyOnWritePagesAreReleasable() {
        let mappings = StartupPages.releasableMappings(smaps: Self.sample)
        #expect(mappings == [
            .init(start: 0x55d0a0000000, end: 0x55d0a1000000, path: "/usr/bin/zest"),
            .init(start: 0x7f0000100000, end: 0x7f0000200000, path: "/opt/lib/lib with space.so"),
        ])
    }

    @Test func malformedSmapsGivesNothingToRelease() {
        #expect(StartupPages.releasableMappings(smaps: "").isEmpty)
        #expect(StartupPages.releasableMappings(smaps: "zz-yy r-xp 0 0 0 /x\nAnonymous: 0 kB").isEmpty)
        // A mapping whose Anonymous line is missing is not released.
        #expect(StartupPages.releasableMappings(smaps: "1000-2000 r-xp 0 fe:00 1 /x\nRss: 4 kB").isEmpty)
    }

    /// Drops this test process's own code pages: RssFile falls, and the code keeps running
    /// (it is mapped again from the page cache on the next access).
    @Test func releaseLowersFileBackedResidentMemoryAndCodeKeepsRunning() throws {
        let before = try #require(Self.statusKiB("RssFile"))
        let advised = StartupPages.release()
        let after = try #require(Self.statusKiB("RssFile"))
        #expect(advised > 0)
        #expect(after < before, "RssFile \(before) KiB before release, \(after) KiB after")
        #expect(CPUCount.cgroupV2Limit("200000 100000") == 2)
    }

    /// The test executable's `.rodata`: read whole, its pages are resident; after the release
    /// fewer are (other tests run in parallel and may touch a few again), and every byte reads
    /// back unchanged, mapped again from the file.
    @Test func releaseDropsConstantDataPagesAndTheirBytesReadBackUnchanged() throws {
        let range = try #require(ConstantDataPages.rodataAddressRange())
        #expect(range.size > 0)
        let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: range.start), count: Int(range.size))
        let checksum = bytes.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) }
        let resident = StartupPages.residentConstantDataBytes()
        #expect(resident > 0)
        StartupPages.release()
        #expect(StartupPages.residentConstantDataBytes() < resident)
        #expect(bytes.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) } == checksum)
    }

    /// A field of /proc/self/status in KiB, read with plain syscalls.
    static func statusKiB(_ field: String) -> Int? {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}
