/// Received payload a slow application has not taken yet: appended at the back, taken from the
/// front without moving the rest (the front index advances; storage is compacted only once
/// the taken part dominates), so a stalled consumer costs amortized O(1) per byte.
struct HeldBytes {
    private var storage: [UInt8] = []
    private var start = 0

    var count: Int { storage.count - start }
    var isEmpty: Bool { start == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0, start >= storage.count / 2 {
            storage.removeFirst(start)
            start = 0
        }
        storage.append(contentsOf: bytes)
    }

    /// Offers the held bytes to `body`, which returns how many it took; those are dropped.
    mutating func take(_ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        guard !isEmpty else { return 0 }
        let taken = storage.withUnsafeBytes { all in
            let view = UnsafeRawBufferPointer(rebasing: all[start...])
            return min(max(body(view), 0), view.count)
        }
        start += taken
        if start == storage.count {
            storage.removeAll(keepingCapacity: false)
            start = 0
        }
        return taken
    }

    mutating func removeAll() {
        storage = []
        start = 0
    }
}
