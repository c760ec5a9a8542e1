import Testing
import ZestTestSupport
@testable import ZestRedirect

/// Capture rules and the policy route, installed and removed in namespaces made by the test,
/// checked against what `nft` and `ip` report.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct CaptureRulesInstallTests {
    private func snapshot(_ ns: TestNamespace) throws -> String {
        try ns.exec(["nft", "list", "ruleset"])
            + (try runChecked(["ip", "-n", ns.name, "rule"]))
            + (try runChecked(["ip", "-n", ns.name, "-6", "rule"]))
            + (try runChecked(["ip", "-n", ns.name, "route", "show", "table", "all"]))
            + (try runChecked(["ip", "-n", ns.name, "-6", "route", "show", "table", "all"]))
    }

    @Test func installedRulesAndPolicyRouteLookRightAndRemovalRestoresTheNamespaceExactly() throws {
        let ns = try TestNamespace("inst")
        defer { ns.destroy() }
        let before = try snapshot(ns)
        let thread = try NetnsThread()
        let capture = PodCapture(mode: .zest(CaptureOptions()), thread: thread)
        let handle = try NetNamespace(path: ns.path)

        try capture.install(in: handle)
        let ruleset = try ns.exec(["nft", "list", "ruleset"])
        for expected in [
            "table inet zest",
            "type nat hook prerouting priority dstnat; policy accept;",
            "type nat hook output priority -100; policy accept;",
            "type route hook output priority mangle; policy accept;",
            "type filter hook prerouting priority mangle; policy accept;",
            "ip daddr != 127.0.0.1 tcp flags syn / fin,syn,rst,ack meta mark & 0x00000fff != 0x00000539 redirect to :15001",
            "ip6 daddr != ::1 tcp flags syn / fin,syn,rst,ack meta mark & 0x00000fff != 0x00000539 redirect to :15001",
            "ip daddr != 127.0.0.1 tcp flags syn / fin,syn,rst,ack tcp dport != 15008 meta mark & 0x00000fff != 0x00000539 redirect to :15006",
            "ip saddr 169.254.7.127 meta l4proto tcp accept",
            "ip6 saddr fd16:9254:7127:1337:ffff:ffff:ffff:ffff meta l4proto tcp accept",
            // nft prints the bitwise (ct mark & 0xfffff000) ^ 0x111 as "& 0xfffff111 | 0x111"; both keep the
            // upper bits and set the low twelve to 0x111.
            "meta mark & 0x00000fff == 0x00000539 ct mark set ct mark & 0xfffff111 | 0x00000111",
            "ct mark & 0x00000fff == 0x00000111 meta mark set ct mark",
            "meta l4proto tcp meta mark & 0x00000fff == 0x00000111 accept",
            "ip daddr != 127.0.0.1 oifname \"lo\" accept",
        ] {
            #expect(ruleset.contains(expected), "missing `\(expected)` in:\n\(ruleset)")
        }
        #expect(!ruleset.contains(":15053"), "DNS capture is off by default")
        let rules4 = try runChecked(["ip", "-n", ns.name, "rule"])
        let rules6 = try runChecked(["ip", "-n", ns.name, "-6", "rule"])
        #expect(rules4.contains("32764:\tfrom all fwmark 0x111/0xfff lookup 100"), "\(rules4)")
        #expect(rules6.contains("32764:\tfrom all fwmark 0x111/0xfff lookup 100"), "\(rules6)")
        #expect(try runChecked(["ip", "-n", ns.name, "route", "show", "table", "100"]) == "local default dev lo scope host \n")
        #expect(try runChecked(["ip", "-n", ns.name, "-6", "route", "show", "table", "100"]).contains("local default dev lo"))
        #expect(try capture.isInstalled(in: handle))

        try capture.remove(from: handle)
        #expect(try snapshot(ns) == before)
        #expect(try !capture.isInstalled(in: handle))
        // Removing what is already gone is not an error.
        try capture.remove(from: handle)
        #expect(try snapshot(ns) == before)
    }

    @Test func installingTwiceLeavesTheSameRuleset() throws {
        let ns = try TestNamespace("twice")
        defer { ns.destroy() }
        let capture = PodCapture(mode: .zest(CaptureOptions()), thread: try NetnsThread())
        let handle = try NetNamespace(path: ns.path)
        try capture.install(in: handle)
        let once = try snapshot(ns)
        try capture.install(in: handle)
        #expect(try snapshot(ns) == once)
    }

    @Test func dnsCaptureAddsPort53Redirects() throws {
        let ns = try TestNamespace("dns")
        defer { ns.destroy() }
        var options = CaptureOptions()
        options.captureDNS = true
        let capture = PodCapture(mode: .zest(options), thread: try NetnsThread())
        try capture.install(in: try NetNamespace(path: ns.path))
        let ruleset = try ns.exec(["nft", "list", "ruleset"])
        #expect(ruleset.contains("udp dport 53 oifname != \"lo\" meta mark & 0x00000fff != 0x00000539 redirect to :15053"), "\(ruleset)")
        #expect(ruleset.contains("ip daddr != 127.0.0.1 tcp flags syn / fin,syn,rst,ack tcp dport 53 meta mark & 0x00000fff != 0x00000539 redirect to :15053"), "\(ruleset)")
    }

    @Test func externalModeLeavesCaptureToIstioCNI() throws {
        let ns = try TestNamespace("ext")
        defer { ns.destroy() }
        let before = try snapshot(ns)
        let capture = PodCapture(mode: .external, thread: try NetnsThread())
        let handle = try NetNamespace(path: ns.path)
        try capture.install(in: handle)
        #expect(try snapshot(ns) == before)
        try capture.remove(from: handle)
        #expect(try snapshot(ns) == before)
    }

    @Test func aRejectedBatchReportsTheFailingMessageAndCommitsNothing() throws {
        let ns = try TestNamespace("fail")
        defer { ns.destroy() }
        let before = try snapshot(ns)
        let capture = PodCapture(mode: .zest(CaptureOptions()), thread: try NetnsThread())
        let handle = try NetNamespace(path: ns.path)
        do {
            try capture.installDeliberatelyBroken(in: handle)
            Issue.record("a rule for a missing chain was accepted")
        } catch let error as RedirectError {
            guard case .rejected(let failures) = error else {
                Issue.record("expected a rejection, got \(error)")
                return
            }
            #expect(failures.map(\.message) == ["rule for missing chain no-such-chain"])
            #expect(failures.first?.errno == 2)
            #expect(error.description.contains("rule for missing chain no-such-chain: No such file or directory"))
        }
        #expect(try snapshot(ns) == before)
    }

    @Test func aRejectedPolicyRouteIsTakenBackAndReportedWithTheKernelsReason() throws {
        let ns = try TestNamespace("lodn")
        defer { ns.destroy() }
        // With lo down the kernel accepts the IPv4 rule and route but refuses the IPv6 route.
        try runChecked(["ip", "-n", ns.name, "link", "set", "lo", "down"])
        let before = try snapshot(ns)
        let capture = PodCapture(mode: .zest(CaptureOptions()), thread: try NetnsThread())
        do {
            try capture.install(in: NetNamespace(path: ns.path))
            Issue.record("a route via a down loopback was accepted")
        } catch let error as RedirectError {
            guard case .rejected(let failures) = error else {
                Issue.record("expected a rejection, got \(error)")
                return
            }
            #expect(failures.map(\.message) == ["add IPv6 route local default dev lo table 100"])
            #expect(failures.first?.kernelText == "Nexthop device is not up")
        }
        #expect(try snapshot(ns) == before)
    }

    /// Pods with IPv6 switched off (`disable_ipv6=1`, as container runtimes often leave them):
    /// the kernel refuses the IPv6 route via lo ("IPv6 is disabled on nexthop device"), which
    /// such a pod does not need; its IPv4 capture and policy route go in all the same.
    @Test func aPodWithIPv6DisabledGetsItsCaptureAndIPv4PolicyRoute() throws {
        let ns = try TestNamespace("no6")
        defer { ns.destroy() }
        try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        let before = try snapshot(ns)
        let capture = PodCapture(mode: .zest(CaptureOptions()), thread: try NetnsThread())
        let handle = try NetNamespace(path: ns.path)
        try capture.install(in: handle)
        #expect(try capture.isInstalled(in: handle))
        #expect(try runChecked(["ip", "-n", ns.name, "route", "show", "table", "100"]).contains("local default dev lo"))
        #expect(try runChecked(["ip", "-n", ns.name, "rule"]).contains("fwmark 0x111/0xfff lookup 100"))
        try capture.remove(from: handle)
        #expect(try snapshot(ns) == before)
    }
}
