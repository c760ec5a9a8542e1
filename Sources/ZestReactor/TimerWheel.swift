/// Identifies one scheduled timer; stale after it fires or is cancelled.
public struct TimerID: Hashable, Sendable {
    let index: Int32
    let generation: UInt32
}

/// A hashed timer wheel for connect deadlines and idle timeouts: O(1) schedule and cancel,
/// no allocation once its entry table has grown to the number of live timers.
///
/// Time is a monotonic nanosecond count passed in by the caller, so the wheel is testable
/// without clocks. Idle timeouts are cheapest as "check on fire": schedule at the idle
/// deadline, and when it fires compare against the connection's last activity and re-arm,
/// instead of cancelling and rescheduling on every read.
///
/// The loop asks `timeUntilNext` on every wake-up, so the wheel remembers the first tick whose
/// slot holds a timer: a wake-up costs no scan of the slots unless a timer in that slot was
/// removed or the tick has passed, and `advance` skips the slots it knows are empty.
public final class TimerWheel {
    private struct Entry {
        var deadline: UInt64 = 0
        var handler: TimerHandler?
        var generation: UInt32 = 0
        var next: Int32 = -1
        var prev: Int32 = -1
        var slot: Int32 = -1
    }

    public let tickNanoseconds: UInt64
    private var slots: [Int32]
    /// One bit per slot, set while the slot holds a timer: finding the next occupied slot
    /// reads a few words instead of every slot.
    private var occupied: [UInt64]
    private var entries: [Entry] = []
    private var freeHead: Int32 = -1
    /// The last tick whose slot has been processed.
    private var currentTick: UInt64
    private var fired: [(TimerID, TimerHandler)] = []
    /// The first tick after `currentTick` whose slot is not empty, when known (nil: scan).
    private var nextTick: UInt64?
    /// Number of scheduled timers.
    public private(set) var count = 0

    /// `tick` is the resolution; `slotCount` ticks make one rotation (longer timers wait rounds).
    public init(tick: Duration = .milliseconds(1), slotCount: Int = 2048, now: UInt64) {
        let (s, a) = tick.components
        tickNanoseconds = max(1, UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000))
        slots = Array(repeating: -1, count: max(1, slotCount))
        occupied = Array(repeating: 0, count: (max(1, slotCount) + 63) / 64)
        currentTick = now / tickNanoseconds
        fired.reserveCapacity(64)
    }

    /// Schedules `handler.timerFired` at `deadline` (nanoseconds, same clock as `advance`).
    public func schedule(at deadline: UInt64, _ handler: TimerHandler) -> TimerID {
        let index: Int32
        if freeHead >= 0 {
            index = freeHead
            freeHead = entries[Int(index)].next
        } else {
            index = Int32(entries.count)
            entries.append(Entry())
        }
        // Round up, so by the time this slot is processed the deadline has passed.
        let tick = max((deadline + tickNanoseconds - 1) / tickNanoseconds, currentTick + 1)
        let slot = Int32(tick % UInt64(slots.count))
        entries[Int(index)].deadline = deadline
        entries[Int(index)].handler = handler
        entries[Int(index)].slot = slot
        entries[Int(index)].prev = -1
        entries[Int(index)].next = slots[Int(slot)]
        if slots[Int(slot)] >= 0 { entries[Int(slots[Int(slot)])].prev = index }
        slots[Int(slot)] = index
        occupied[Int(slot) >> 6] |= 1 << UInt64(slot & 63)
        count += 1
        if let known = nextTick {
            // The tick at which a scan from `currentTick` reaches this slot (timers more than a
            // rotation away are met in their slot earlier, and wait their rounds there).
            let n = UInt64(slots.count)
            let reached = tick - currentTick <= n ? tick : currentTick + 1 + (tick - currentTick - 1) % n
            nextTick = min(known, reached)
        }
        return TimerID(index: index, generation: entries[Int(index)].generation)
    }

    /// Cancels a timer; a no-op if it already fired or was cancelled.
    public func cancel(_ id: TimerID) {
        guard Int(id.index) < entries.count, entries[Int(id.index)].generation == id.generation,
              entries[Int(id.index)].slot >= 0 else { return }
        remove(id.index)
    }

    /// Whether `id` is still scheduled.
    public func isScheduled(_ id: TimerID) -> Bool {
        Int(id.index) < entries.count && entries[Int(id.index)].generation == id.generation
            && entries[Int(id.index)].slot >= 0
    }

    private func remove(_ index: Int32) {
        let e = entries[Int(index)]
        if let known = nextTick, Int32(known % UInt64(slots.count)) == e.slot { nextTick = nil }
        if e.prev >= 0 { entries[Int(e.prev)].next = e.next } else { slots[Int(e.slot)] = e.next }
        if slots[Int(e.slot)] < 0 { occupied[Int(e.slot) >> 6] &= ~(1 << UInt64(e.slot & 63)) }
        if e.next >= 0 { entries[Int(e.next)].prev = e.prev }
        entries[Int(index)].handler = nil
        entries[Int(index)].slot = -1
        entries[Int(index)].generation &+= 1
        entries[Int(index)].next = freeHead
        freeHead = index
        count -= 1
    }

    /// Fires every timer whose deadline is at or before `now`, in no particular order within a
    /// tick. Handlers may schedule or cancel timers while being called. Returns how many fired.
    @discardableResult
    public func advance(to now: UInt64) -> Int {
        let target = now / tickNanoseconds
        guard target > currentTick, count > 0 else {
            if target > currentTick { currentTick = target }
            return 0
        }
        if let known = nextTick {
            guard known <= target else {
                // Every slot up to `target` is empty.
                currentTick = target
                return 0
            }
            nextTick = nil
        }
        let steps = min(target - currentTick, UInt64(slots.count))
        var tick = target - steps
        while tick < target {
            tick += 1
            var i = slots[Int(tick % UInt64(slots.count))]
            while i >= 0 {
                let next = entries[Int(i)].next
                if entries[Int(i)].deadline <= now, let h = entries[Int(i)].handler {
                    fired.append((TimerID(index: i, generation: entries[Int(i)].generation), h))
                    remove(i)
                }
                i = next
            }
        }
        currentTick = target
        let n = fired.count
        for (id, handler) in fired { handler.timerFired(id) }
        fired.removeAll(keepingCapacity: true)
        return n
    }

    /// Nanoseconds from `now` until the earliest slot holding a timer (a lower bound on the next
    /// deadline), or nil when nothing is scheduled. The loop sleeps at most this long.
    public func timeUntilNext(now: UInt64) -> UInt64? {
        guard count > 0 else { return nil }
        guard let tick = nextTick ?? firstOccupiedTick() else { return 0 }
        nextTick = tick
        let start = tick * tickNanoseconds
        return start > now ? start - now : 0
    }

    /// The first tick after `currentTick` whose slot holds a timer, within one rotation,
    /// found in the occupancy bitmap.
    private func firstOccupiedTick() -> UInt64? {
        let n = slots.count
        let start = Int((currentTick + 1) % UInt64(n))
        guard let slot = firstOccupiedSlot(from: start, to: n) ?? firstOccupiedSlot(from: 0, to: start) else { return nil }
        return currentTick + 1 + UInt64((slot - start + n) % n)
    }

    /// The lowest occupied slot in `from..<to`, if any.
    private func firstOccupiedSlot(from: Int, to: Int) -> Int? {
        var slot = from
        while slot < to {
            let word = occupied[slot >> 6] >> UInt64(slot & 63)
            if word != 0 {
                let found = slot + word.trailingZeroBitCount
                return found < to ? found : nil
            }
            slot = (slot | 63) + 1
        }
        return nil
    }

    /// Drops every timer without firing it (the loop is stopping).
    public func removeAll() {
        for i in entries.indices where entries[i].slot >= 0 { remove(Int32(i)) }
        nextTick = nil
    }
}
