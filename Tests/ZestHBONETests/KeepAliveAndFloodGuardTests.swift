import Testing
@testable import ZestHBONE

@Suite struct KeepAliveAndFloodGuardTests {
    @Test func keepAliveSchedule() {
        let t0 = ContinuousClock.now
        var k = KeepAlive(interval: .seconds(10), timeout: .seconds(20), now: t0)
        var actions: [KeepAlive.Action] = []
        actions.append(k.tick(now: t0 + .seconds(9)))
        actions.append(k.tick(now: t0 + .seconds(10)))
        actions.append(k.tick(now: t0 + .seconds(29)))           // waiting for the answer
        let foreign = k.acknowledged(99, now: t0 + .seconds(11))  // not ours: ignored
        let ours = k.acknowledged(1, now: t0 + .seconds(12))
        actions.append(k.tick(now: t0 + .seconds(21)))
        actions.append(k.tick(now: t0 + .seconds(22)))
        actions.append(k.tick(now: t0 + .seconds(42)))
        #expect(actions == [.none, .sendPing(1), .none, .none, .sendPing(2), .timedOut])
        #expect(!foreign && ours)
    }

    @Test func floodGuardAllowsBurstThenRefillsAtRate() {
        let t0 = ContinuousClock.now
        var g = FloodGuard(limits: FloodLimits(burst: 10, perSecond: 5), now: t0)
        var burst = 0
        while g.admit(.ping, now: t0), burst < 100 { burst += 1 }
        let otherKind = g.admit(.settings, now: t0)
        let refilled = g.admit(.ping, now: t0 + .milliseconds(200))
        let againEmpty = g.admit(.ping, now: t0 + .milliseconds(200))
        #expect(burst == 10)
        #expect(otherKind, "kinds have separate budgets")
        #expect(refilled && !againEmpty, "one token back after 1/5 s")
    }
}

@Suite struct FrameSizingTests {
    @Test func framesFillWholeTLSRecordsUnlessTheRestFits() {
        let table: [(available: Int, max: Int, expected: Int)] = [
            (1000, 16_384, 1000),              // the remainder fits: send it all
            (65_527, 16_384, 16_375),          // 16,375 + 9 = one full record
            (65_527, 1 << 20, 65_527),         // a whole pool slot: 4 records exactly
            (200_000, 65_536, 65_527),         // aligned down to 4 records
            (200_000, 100, 100),               // a tiny window: no record to align to
        ]
        for c in table {
            #expect(HBONEConnection.framePayload(available: c.available, max: c.max) == c.expected, "\(c)")
        }
    }
}

@Suite struct HeldBytesTests {
    @Test func heldBytesComeOutInOrderWhateverTheConsumerTakes() {
        var held = HeldBytes()
        let data = payload(100_000, seed: 5)
        var out: [UInt8] = []
        var fed = 0
        var step = 0
        while out.count < data.count {
            if fed < data.count {
                let n = min(7_000, data.count - fed)
                data[fed..<(fed + n)].withUnsafeBytes { held.append($0) }
                fed += n
            }
            step += 1
            let limit = step % 3 == 0 ? 0 : 5_000   // sometimes the consumer takes nothing
            _ = held.take { bytes in
                let n = min(bytes.count, limit)
                out.append(contentsOf: bytes.prefix(n))
                return n
            }
        }
        #expect(out == data)
        #expect(held.isEmpty && held.count == 0)
    }
}
