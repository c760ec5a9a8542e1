import Testing
import ZestReactor

@Suite struct BufferPoolTests {
    let config = BufferPoolConfiguration(slotCount: 4, headroom: 16, payloadCapacity: 1000)

    @Test func takenSlotsAreDistinctNonOverlappingAndCarryHeadroom() {
        let pool = BufferPool(config)
        let slots = (0..<4).compactMap { _ in pool.take() }
        #expect(slots.count == 4)
        #expect(Set(slots.map(\.index)).count == 4)
        let starts = slots.map { Int(bitPattern: pool.base($0)) }.sorted()
        for (a, b) in zip(starts, starts.dropFirst()) { #expect(b - a >= 16 + 1000) }
        for s in slots { #expect(pool.payload(s) - pool.base(s) == 16) }
        // Writing a whole slot (headroom + payload) must not disturb its neighbours.
        for (i, s) in slots.enumerated() { pool.base(s).initializeMemory(as: UInt8.self, repeating: UInt8(i), count: 1016) }
        for (i, s) in slots.enumerated() {
            let p = pool.base(s).assumingMemoryBound(to: UInt8.self)
            #expect(p[0] == UInt8(i) && p[1015] == UInt8(i))
        }
    }

    @Test func exhaustionReturnsNilAndIsCountedThenRecovers() {
        let pool = BufferPool(config)
        var held = (0..<4).compactMap { _ in pool.take() }
        #expect(pool.take() == nil)
        #expect(pool.take() == nil)
        #expect(pool.stats.exhaustionEvents == 2)
        #expect(pool.stats.inUse == 4)
        pool.release(held.removeLast())
        #expect(pool.take() != nil)
        #expect(pool.stats.exhaustionEvents == 2)
    }

    @Test func highWaterMarkRemembersThePeakAfterReturns() {
        let pool = BufferPool(config)
        let a = pool.take()!, b = pool.take()!, c = pool.take()!
        pool.release(a); pool.release(b); pool.release(c)
        #expect(pool.stats.inUse == 0)
        #expect(pool.stats.highWater == 3)
        let d = pool.take()!
        #expect(pool.stats.highWater == 3)
        pool.release(d)
    }

    @Test func lastReturnedSlotIsHandedOutFirstToKeepPagesWarm() {
        let pool = BufferPool(config)
        let a = pool.take()!
        pool.release(a)
        #expect(pool.take() == a)
    }

    @Test func defaultPayloadFillsWholeTLSRecordsBehindAnHTTP2Header() {
        let c = BufferPoolConfiguration.default
        #expect(c.headroom >= BufferPoolConfiguration.http2FrameHeader)
        #expect((c.payloadCapacity + BufferPoolConfiguration.http2FrameHeader) % BufferPoolConfiguration.tlsRecord == 0)
    }
}
