import Glibc

/// The bytes a throughput client sends in sink mode: the byte at stream offset k is k mod 251
/// (a prime, so the pattern never lines up with buffer or record sizes). The backend compares
/// what arrives with the same pattern, so a proxy that drops, duplicates, reorders or corrupts
/// data fails the run even when the byte count matches.
struct SinkPattern {
    static let period = 251
    /// Answered instead of the count when the content differed.
    static let mismatch = UInt64.max
    /// `chunk` bytes of pattern plus one period, so any offset's run of `chunk` bytes is contiguous.
    let bytes: UnsafeMutableRawBufferPointer
    let chunk: Int

    init(chunk: Int) {
        self.chunk = chunk
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk + Self.period, alignment: 4096)
        for i in 0..<bytes.count { bytes[i] = UInt8(i % Self.period) }
    }

    /// The pattern starting at stream offset `offset`, at least `chunk` bytes long.
    func at(_ offset: UInt64) -> UnsafeRawPointer {
        UnsafeRawPointer(bytes.baseAddress! + Int(offset % UInt64(Self.period)))
    }

    /// True when `count` received bytes at stream offset `offset` are what was sent (memcmp).
    func matches(_ received: UnsafeRawPointer, _ count: Int, at offset: UInt64) -> Bool {
        memcmp(received, at(offset), count) == 0
    }
}
