/// Sizes of a worker's buffer pool. Every slot is `headroom + payloadCapacity` bytes (rounded up
/// to 64), carved from one allocation.
public struct BufferPoolConfiguration: Sendable, Equatable {
    /// Number of slots; the pool never grows past it.
    public var slotCount: Int
    /// Bytes in front of the payload, so a protocol header (the 9-byte HTTP/2 DATA frame header)
    /// can be written in place before the bytes read from a socket.
    public var headroom: Int
    /// Bytes a socket read may fill.
    public var payloadCapacity: Int

    public init(slotCount: Int, headroom: Int = 16, payloadCapacity: Int) {
        precondition(slotCount > 0 && slotCount < Int(Int32.max), "slot count out of range")
        precondition(headroom >= 0 && payloadCapacity > 0, "slot sizes must be positive")
        self.slotCount = slotCount
        self.headroom = headroom
        self.payloadCapacity = payloadCapacity
    }

    /// The HTTP/2 frame header length the default headroom leaves room for.
    public static let http2FrameHeader = 9
    /// Largest TLS record plaintext.
    public static let tlsRecord = 16_384

    /// A payload that, with a 9-byte DATA header in front, fills exactly `records` TLS records.
    public static func payloadFillingTLSRecords(_ records: Int) -> Int {
        records * tlsRecord - http2FrameHeader
    }

    /// The default: 1,024 slots of 8 TLS records' worth of DATA payload (128 KiB − 9) behind
    /// 16 bytes of headroom (128 MiB of address space per worker; only touched slots are resident).
    /// Chosen by the relay benchmark: 8 records per read used fewer CPU-seconds per GB than 4
    /// or 1 (docs/bench/relay.md).
    public static let `default` = BufferPoolConfiguration(slotCount: 1024, headroom: 16,
                                                          payloadCapacity: payloadFillingTLSRecords(8))
}

/// Counters a worker's pool keeps; plain integers, read on the worker (or after it stopped).
public struct BufferPoolStats: Sendable, Equatable {
    public var slotCount: Int
    public var slotSize: Int
    /// Slots handed out and not yet returned.
    public var inUse: Int
    /// The most slots ever in use at once.
    public var highWater: Int
    /// How many times `take()` found the pool empty (each one paused a reader).
    public var exhaustionEvents: Int

    public init(slotCount: Int = 0, slotSize: Int = 0, inUse: Int = 0, highWater: Int = 0, exhaustionEvents: Int = 0) {
        self.slotCount = slotCount
        self.slotSize = slotSize
        self.inUse = inUse
        self.highWater = highWater
        self.exhaustionEvents = exhaustionEvents
    }
}

/// A per-worker slab of fixed-size buffers handed out by index from a free list.
///
/// One allocation at start; `take()` and `release(_:)` are a few integer operations, with no
/// malloc, reference counting or lock. When the pool is empty `take()` returns nil: the caller
/// stops reading (back-pressure) and asks the loop to wake it when slots come back; memory never
/// grows. A connection holds slots only while bytes are in flight. Confined to one thread.
public final class BufferPool {
    /// A taken slot: an index, so holding one costs no reference counting.
    public struct Slot: Equatable, Sendable {
        public let index: Int32
    }

    public let configuration: BufferPoolConfiguration
    /// Distance between slots in bytes.
    public let slotStride: Int
    private let memory: UnsafeMutableRawPointer
    private let freeList: UnsafeMutablePointer<Int32>
    private let taken: UnsafeMutablePointer<Bool>
    private var freeCount: Int
    public private(set) var highWater = 0
    public private(set) var exhaustionEvents = 0

    public init(_ configuration: BufferPoolConfiguration = .default) {
        self.configuration = configuration
        slotStride = (configuration.headroom + configuration.payloadCapacity + 63) & ~63
        let n = configuration.slotCount
        memory = UnsafeMutableRawPointer.allocate(byteCount: slotStride * n, alignment: 4096)
        freeList = .allocate(capacity: n)
        taken = .allocate(capacity: n)
        taken.initialize(repeating: false, count: n)
        // Lowest indices on top, so a lightly used pool keeps touching the same few pages.
        for i in 0..<n { freeList[i] = Int32(n - 1 - i) }
        freeCount = n
    }

    deinit {
        memory.deallocate()
        freeList.deallocate()
        taken.deallocate()
    }

    /// Takes a free slot, or nil when all are in use (counted as an exhaustion event).
    @inline(__always)
    public func take() -> Slot? {
        guard freeCount > 0 else {
            exhaustionEvents += 1
            return nil
        }
        freeCount -= 1
        let index = freeList[freeCount]
        taken[Int(index)] = true
        let used = configuration.slotCount - freeCount
        if used > highWater { highWater = used }
        return Slot(index: index)
    }

    /// Gives a slot back. Returning a slot twice is a programming error and traps.
    @inline(__always)
    public func release(_ slot: Slot) {
        precondition(taken[Int(slot.index)], "buffer slot \(slot.index) returned twice")
        taken[Int(slot.index)] = false
        freeList[freeCount] = slot.index
        freeCount += 1
    }

    /// Start of the slot, headroom included (write protocol headers backwards from `payload`).
    @inline(__always)
    public func base(_ slot: Slot) -> UnsafeMutableRawPointer {
        memory + Int(slot.index) * slotStride
    }

    /// Where payload bytes go: `base + headroom`, `payloadCapacity` bytes long.
    @inline(__always)
    public func payload(_ slot: Slot) -> UnsafeMutableRawPointer {
        base(slot) + configuration.headroom
    }

    public var payloadCapacity: Int { configuration.payloadCapacity }
    public var headroom: Int { configuration.headroom }
    public var inUse: Int { configuration.slotCount - freeCount }
    public var hasFreeSlots: Bool { freeCount > 0 }

    public var stats: BufferPoolStats {
        BufferPoolStats(slotCount: configuration.slotCount, slotSize: slotStride, inUse: inUse,
                        highWater: highWater, exhaustionEvents: exhaustionEvents)
    }
}
