/// Maps strings to small integers with an open-addressing table hashed by FNV-1a over
/// UTF-8 bytes. Used once per request to turn the peer's principal and namespace into the
/// ids policies were compiled with; Dictionary's SipHash cost four times as much here.
struct StringInterner: Sendable {
    private(set) var strings: ContiguousArray<String> = []
    private var hashes: ContiguousArray<UInt64> = []
    private var slots = ContiguousArray<Int32>(repeating: -1, count: 16)

    /// The id of `s`, adding it if new.
    mutating func intern(_ s: String) -> Int32 {
        let existing = id(of: s)
        if existing >= 0 { return existing }
        if (strings.count + 1) * 2 > slots.count { grow() }
        let h = StringInterner.hash(s)
        let id = Int32(strings.count)
        strings.append(s)
        hashes.append(h)
        insert(id, hash: h)
        return id
    }

    /// The id of `s`, or -1 when it was never interned.
    func id(of s: String) -> Int32 {
        let h = StringInterner.hash(s)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[i]
            if slot < 0 { return -1 }
            if hashes[Int(slot)] == h && strings[Int(slot)] == s { return slot }
            i = (i + 1) & mask
        }
    }

    private mutating func insert(_ id: Int32, hash h: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = id
    }

    private mutating func grow() {
        slots = ContiguousArray(repeating: -1, count: slots.count * 2)
        for (id, h) in hashes.enumerated() { insert(Int32(id), hash: h) }
    }

    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        if let done = s.utf8.withContiguousStorageIfAvailable({ bytes -> UInt64 in
            var h = h
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            return h
        }) {
            return done
        }
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
