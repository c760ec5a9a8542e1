import Glibc

/// The resident pages of the executable's `.rodata` section that still hold the file's bytes.
///
/// Swift objects emit `.rodata` with the writable flag, so the linker places it in the
/// writable segment and `StartupPages` cannot drop it by mapping (that mapping also holds
/// `.data`). Its content is constant, though: a page of it that is still backed by the file
/// (not a copy-on-write copy, which only ld.so's relocations could have made) holds exactly the
/// file's bytes, and dropping it is undone by the next read (a minor fault from the page cache).
/// Found from the ELF section headers of `/proc/self/exe` and `/proc/self/pagemap`.
enum ConstantDataPages {
    /// Byte ranges (start, length) of file-backed resident `.rodata` pages; empty when the
    /// executable or pagemap cannot be read or has no `.rodata`.
    static func fileBackedRanges() -> [(UInt, Int)] {
        guard let section = rodataAddressRange() else { return [] }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let first = (section.start + page - 1) / page, last = (section.start + section.size) / page
        guard first < last else { return [] }
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var entries = [UInt64](repeating: 0, count: Int(last - first))
        let want = entries.count * 8
        let got = entries.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(first * 8)) }
        guard got == want else { return [] }
        var ranges: [(UInt, Int)] = []
        for (i, entry) in entries.enumerated() {
            // Bit 63: present; bit 61: file page (clear for a private copy-on-write copy).
            guard entry & (1 << 63) != 0, entry & (1 << 61) != 0 else { continue }
            let address = (first + UInt(i)) * page
            if let lastRange = ranges.last, lastRange.0 + UInt(lastRange.1) == address {
                ranges[ranges.count - 1].1 += Int(page)
            } else {
                ranges.append((address, Int(page)))
            }
        }
        return ranges
    }

    /// Start address (load bias applied) and size of the executable's `.rodata`.
    static func rodataAddressRange() -> (start: UInt, size: UInt)? {
        let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let header = readBytes(fd, offset: 0, count: 64), header.starts(with: [0x7F, 0x45, 0x4C, 0x46, 2, 1]),
              let bias = loadBias(fd, header: header) else { return nil }
        let shoff = Int(le64(header, 0x28)), shentsize = Int(le16(header, 0x3A))
        let shnum = Int(le16(header, 0x3C)), shstrndx = Int(le16(header, 0x3E))
        guard shentsize == 64, shnum > 0, shstrndx < shnum,
              let sections = readBytes(fd, offset: shoff, count: shnum * 64) else { return nil }
        let names = shstrndx * 64
        guard let strtab = readBytes(fd, offset: Int(le64(sections, names + 0x18)), count: Int(le64(sections, names + 0x20)))
        else { return nil }
        let wanted = Array(".rodata\0".utf8)
        for i in 0..<shnum {
            let nameOffset = Int(le32(sections, i * 64))
            guard nameOffset + wanted.count <= strtab.count,
                  strtab[nameOffset..<nameOffset + wanted.count].elementsEqual(wanted) else { continue }
            let address = UInt(le64(sections, i * 64 + 0x10)), size = UInt(le64(sections, i * 64 + 0x20))
            return address == 0 ? nil : (bias &+ address, size)
        }
        return nil
    }

    /// Where the executable is loaded: the program headers' address (AT_PHDR of
    /// `/proc/self/auxv`) minus the address its PT_PHDR entry gives them.
    private static func loadBias(_ fd: Int32, header: [UInt8]) -> UInt? {
        let phoff = Int(le64(header, 0x20)), phentsize = Int(le16(header, 0x36)), phnum = Int(le16(header, 0x38))
        guard phentsize == 56, let headers = readBytes(fd, offset: phoff, count: phnum * 56),
              let phdr = auxiliaryValue(3) else { return nil }  // AT_PHDR
        for i in 0..<phnum where le32(headers, i * 56) == 6 {  // PT_PHDR
            return phdr &- UInt(le64(headers, i * 56 + 0x10))
        }
        return nil
    }

    /// One entry of the auxiliary vector the kernel gave the process (`/proc/self/auxv`:
    /// pairs of 64-bit type and value).
    private static func auxiliaryValue(_ type: UInt64) -> UInt? {
        let fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var vector = [UInt8](repeating: 0, count: 4096)
        let n = vector.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        for at in stride(from: 0, to: n - 15, by: 16) where le64(vector, at) == type {
            return UInt(le64(vector, at + 8))
        }
        return nil
    }

    private static func readBytes(_ fd: Int32, offset: Int, count: Int) -> [UInt8]? {
        guard offset >= 0, count > 0, count <= 1 << 24 else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return n == count ? bytes : nil
    }

    private static func le16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
    private static func le64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
}
