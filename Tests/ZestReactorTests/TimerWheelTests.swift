import Testing
import ZestTestSupport
import ZestReactor

final class Recorder: TimerHandler {
    var fired: [TimerID] = []
    var onFire: ((TimerID) -> Void)?
    func timerFired(_ timer: TimerID) {
        fired.append(timer)
        onFire?(timer)
    }
}

@Suite struct TimerWheelTests {
    let ms: UInt64 = 1_000_000

    @Test func firesAtTheDeadlineAndNotBefore() {
        let wheel = TimerWheel(tick: .milliseconds(1), slotCount: 64, now: 0)
        let r = Recorder()
        let id = wheel.schedule(at: 10 * ms + 500_000, r)
        #expect(wheel.advance(to: 10 * ms) == 0)
        #expect(wheel.isScheduled(id))
        #expect(wheel.advance(to: 10 * ms + 400_000) == 0)
        #expect(wheel.advance(to: 11 * ms) == 1)
        #expect(r.fired == [id])
        #expect(!wheel.isScheduled(id))
        #expect(wheel.count == 0)
    }

    @Test func cancelledTimerNeverFires() {
        let wheel = TimerWheel(now: 0)
        let r = Recorder()
        let a = wheel.schedule(at: 5 * ms, r)
        let b = wheel.schedule(at: 5 * ms, r)
        wheel.cancel(a)
        wheel.cancel(a)
        wheel.advance(to: 20 * ms)
        #expect(r.fired == [b])
    }

    @Test func timersBeyondOneRotationWaitTheirRounds() {
        let wheel = TimerWheel(tick: .milliseconds(1), slotCount: 8, now: 0)
        let r = Recorder()
        let far = wheel.schedule(at: 30 * ms, r)
        let near = wheel.schedule(at: 6 * ms, r)
        for t in stride(from: UInt64(1), through: 29, by: 1) { wheel.advance(to: t * ms) }
        #expect(r.fired == [near])
        wheel.advance(to: 30 * ms)
        #expect(r.fired == [near, far])
    }

    @Test func aLongJumpFiresEverythingDue() {
        let wheel = TimerWheel(tick: .milliseconds(1), slotCount: 16, now: 0)
        let r = Recorder()
        for i in 1...100 { _ = wheel.schedule(at: UInt64(i) * 7 * ms, r) }
        wheel.advance(to: 350 * ms)
        #expect(r.fired.count == 50)
        wheel.advance(to: 10_000 * ms)
        #expect(r.fired.count == 100)
        #expect(wheel.count == 0)
    }

    @Test func handlerMayRescheduleWhileFiring() {
        let wheel = TimerWheel(now: 0)
        let r = Recorder()
        var rearmed = 0
        r.onFire = { _ in
            if rearmed < 3 {
                rearmed += 1
                _ = wheel.schedule(at: UInt64(rearmed + 1) * 10 * ms, r)
            }
        }
        _ = wheel.schedule(at: 10 * ms, r)
        for t in 1...100 { wheel.advance(to: UInt64(t) * ms) }
        #expect(r.fired.count == 4)
        r.onFire = nil
    }

    @Test func timeUntilNextIsALowerBoundOnTheNextDeadline() {
        let wheel = TimerWheel(tick: .milliseconds(1), slotCount: 128, now: 0)
        #expect(wheel.timeUntilNext(now: 0) == nil)
        let r = Recorder()
        _ = wheel.schedule(at: 40 * ms, r)
        let wait = wheel.timeUntilNext(now: 0)!
        #expect(wait <= 40 * ms && wait >= 39 * ms)
    }

    @Test func entriesAreReusedAfterFiring() {
        let wheel = TimerWheel(now: 0)
        let r = Recorder()
        let a = wheel.schedule(at: 1 * ms, r)
        wheel.advance(to: 2 * ms)
        let b = wheel.schedule(at: 3 * ms, r)
        #expect(a != b)
        wheel.cancel(a)
        #expect(wheel.isScheduled(b))
    }

    /// The wheel remembers its first occupied slot instead of scanning on every wake-up; through
    /// random schedules, cancels, firings and advances its answer stays exactly the start of the
    /// earliest timer's tick, and every timer fires once, on time.
    /// Slot counts of one, several and a partial bitmap word; deadlines within one rotation.
    @Test(arguments: [(64, 60), (200, 190), (130, 129)])
    func cachedNextDeadlineStaysExactThroughRandomOperations(slotCount: Int, span: UInt64) {
        let tick = ms
        let wheel = TimerWheel(tick: .milliseconds(1), slotCount: slotCount, now: 0)
        let r = Recorder()
        var live: [TimerID: UInt64] = [:]   // id -> tick it is due in
        var rng = SplitMix(seed: 42)
        var now: UInt64 = 0
        var fired = 0
        r.onFire = { id in
            #expect(live[id].map { $0 * tick <= now } == true)
            live[id] = nil
            fired += 1
        }
        for _ in 0..<5_000 {
            switch rng.next() % 4 {
            case 0, 1:
                let deadline = now + rng.next() % (span * tick)
                let due = max((deadline + tick - 1) / tick, now / tick + 1)
                live[wheel.schedule(at: deadline, r)] = due
            case 2:
                if let id = live.keys.randomElement(using: &rng) {
                    wheel.cancel(id)
                    live[id] = nil
                }
            default:
                now += rng.next() % (5 * tick)
                wheel.advance(to: now)
            }
            #expect(wheel.count == live.count)
            let expected = live.values.min().map { $0 * tick > now ? $0 * tick - now : 0 }
            #expect(wheel.timeUntilNext(now: now) == expected)
        }
        #expect(fired > 100)
    }
}
