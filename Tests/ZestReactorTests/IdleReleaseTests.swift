import Testing
import ZestReactor

@Suite struct IdleReleaseTests {
    static let ms: UInt64 = 1_000_000

    @Test func quietOnlyAfterTheWholeQuietPeriodBelowOnePercentOfACPU() {
        let idle = IdleRelease(quietFor: .seconds(2))
        var cpu: UInt64 = 0
        // The first sample (after the one taken at init, a clock of another origin) only
        // sets the reference.
        #expect(!idle.observe(.init(cpuNanos: cpu, wallNanos: 0)))
        // 0.5 % of a CPU over each 500 ms: quiet, but for less than 2 s at first.
        for step in 1...3 {
            cpu += 2 * Self.ms + Self.ms / 2
            #expect(!idle.observe(.init(cpuNanos: cpu, wallNanos: UInt64(step) * 500 * Self.ms)))
        }
        cpu += 2 * Self.ms
        #expect(idle.observe(.init(cpuNanos: cpu, wallNanos: 2000 * Self.ms)))
    }

    @Test func busyIntervalRestartsTheQuietPeriod() {
        let idle = IdleRelease(quietFor: .seconds(1))
        _ = idle.observe(.init(cpuNanos: 0, wallNanos: 0))
        #expect(!idle.observe(.init(cpuNanos: 0, wallNanos: 900 * Self.ms)))
        // 10 ms of CPU in 100 ms: busy.
        #expect(!idle.observe(.init(cpuNanos: 10 * Self.ms, wallNanos: 1000 * Self.ms)))
        #expect(!idle.observe(.init(cpuNanos: 10 * Self.ms, wallNanos: 1900 * Self.ms)))
        #expect(idle.observe(.init(cpuNanos: 10 * Self.ms, wallNanos: 2000 * Self.ms)))
    }

    @Test func clockGoingNowhereIsNotQuiet() {
        let idle = IdleRelease(quietFor: .zero)
        _ = idle.observe(.init(cpuNanos: 0, wallNanos: 5))
        #expect(!idle.observe(.init(cpuNanos: 0, wallNanos: 5)))
    }

    @Test func fileBackedResidentMemoryOfThisProcessIsReadable() throws {
        let bytes = try #require(IdleRelease.fileBackedResidentBytes())
        #expect(bytes > 0 && bytes % 4096 == 0)
        let sample = IdleRelease.sample()
        #expect(sample.cpuNanos > 0 && sample.wallNanos > 0)
    }
}
