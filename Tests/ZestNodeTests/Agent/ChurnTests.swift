import Foundation
import Glibc
import Testing
import ZestNode
import ZestTestSupport

/// Many pods enrolled and removed again and again through `zest cni` and ZDS leave nothing
/// behind: no nftables table, policy rule or route in any pod, no descriptor in Zest.
@Suite("zest run: enrollment churn", .serialized)
struct ChurnTests {
    @Test(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
    func fiftyPodsEnrolledAndRemovedTenTimesLeaveNoRuleRouteOrDescriptor() throws {
        let node = try NodeFixture()
        var namespaces: [TestNamespace] = []
        defer {
            for ns in namespaces { ns.destroy() }
            node.destroy()
        }
        for _ in 0..<50 { namespaces.append(try TestNamespace("chrn")) }
        try node.startCNI()
        let zest = try node.startZest()
        #expect(waitUntil(timeout: .seconds(20)) { zest.readiness?.status == 200 }, "\(zest.process.output.suffix(600))")
        let baseline = openDescriptors(zest.process.pid)
        let pods = PodDirectory(path: node.dir.path + "/pods")
        let clock = ContinuousClock()
        var enrollTimes: [Duration] = []

        for round in 0..<10 {
            let started = clock.now
            for (i, ns) in namespaces.enumerated() {
                _ = try pods.write(PodFile(uid: PodUID("churn-\(i)"),
                                           info: WorkloadInfo(name: "churn-\(i)", namespace: "churn", serviceAccount: "sa-\(i % 5)"),
                                           netnsPath: ns.path))
            }
            #expect(waitUntil(timeout: .seconds(60), poll: .milliseconds(20)) {
                zest.metric("workload_manager_active_proxy_count") == 50
            }, "round \(round): \(zest.metric("workload_manager_active_proxy_count")) active; \(zest.process.output.suffix(600))")
            enrollTimes.append(clock.now - started)
            if round == 0 {
                #expect(try namespaces[7].exec(["nft", "list", "tables"]).contains("zest"))
            }
            for i in 0..<namespaces.count { pods.remove(uid: PodUID("churn-\(i)")) }
            #expect(waitUntil(timeout: .seconds(60), poll: .milliseconds(20)) {
                zest.metric("workload_manager_active_proxy_count") == 0
            }, "round \(round): \(zest.process.output.suffix(600))")
        }

        #expect(zest.metric("workload_manager_proxies_started_total") == 500)
        #expect(zest.metric("workload_manager_proxies_stopped_total") == 500)
        for ns in namespaces {
            #expect(try ns.exec(["nft", "list", "tables"]).isEmpty, "\(ns.name) keeps a table")
            #expect(try !ns.exec(["ip", "rule", "show"]).contains("lookup 100"), "\(ns.name) keeps the policy rule")
            #expect(try ns.exec(["ip", "route", "show", "table", "100"]).isEmpty, "\(ns.name) keeps a route")
            #expect(try ns.exec(["ss", "-Htan"]).isEmpty, "\(ns.name) keeps a socket")
        }
        #expect(waitUntil(timeout: .seconds(5)) { openDescriptors(zest.process.pid) <= baseline },
                "descriptors: \(openDescriptors(zest.process.pid)) now, \(baseline) before")
        let sorted = enrollTimes.sorted()
        print("50 pods enrolled through zest cni + ZDS: median \(sorted[sorted.count / 2]), worst \(sorted.last!) per round of 50")
    }
}

/// Entries of /proc/<pid>/fd.
func openDescriptors(_ pid: pid_t) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}
