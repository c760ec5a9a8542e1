import Testing
import ZestReactor

@Suite struct CPUCountTests {
    @Test(arguments: [
        ("max 100000\n", nil as Int?),
        ("200000 100000\n", 2),
        ("150000 100000", 2),
        ("50000 100000", 1),
        ("garbage", nil),
        ("", nil),
    ])
    func cgroupV2CPUMaxParsesToWholeCPUs(text: String, expected: Int?) {
        #expect(CPUCount.cgroupV2Limit(text) == expected)
    }

    @Test func cgroupV1UnlimitedQuotaMeansNoLimit() {
        #expect(CPUCount.cgroupV1Limit(quota: "-1\n", period: "100000\n") == nil)
        #expect(CPUCount.cgroupV1Limit(quota: "300000\n", period: "100000\n") == 3)
        #expect(CPUCount.cgroupV1Limit(quota: nil, period: "100000") == nil)
    }

    @Test func defaultWorkerCountIsPositiveAndAtMostOnlineCPUs() {
        let n = CPUCount.defaultWorkerCount()
        #expect(n >= 1)
    }
}
