import ArgumentParser
import Foundation
import ZestCore
import ZestRedirect

/// `zest redirect bench`: how long enrolling a pod's capture takes, against a shell baseline.
///
/// Creates `--pods` network namespaces (`ip netns add`), then per pod times: Zest's install
/// (policy route + one nftables batch, via libmnl/libnftnl), opening the three marked
/// per-pod listeners (15001/15006/15008) inside the namespace, and removal. The baseline is
/// the same ruleset and policy route installed the way a script would (one `ip netns exec`
/// running `nft -f` and four `ip rule`/`ip route` commands) on the first `--baseline-pods`
/// namespaces, in the same run.
struct RedirectBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure capture install/remove time per pod (needs root; creates and deletes namespaces).")

    @Option(help: "Number of pod namespaces to enroll.")
    var pods = 100
    @Option(help: "Pods installed with nft/ip commands as the baseline.")
    var baselinePods = 20
    @Option(help: "Rounds of install+remove over all pods.")
    var rounds = 3

    func run() throws {
        let prefix = "zbench\(getpid())x"
        let names = (0..<pods).map { "\(prefix)\($0)" }
        defer { for name in names { _ = try? shell(["ip", "netns", "del", name]) } }
        for name in names {
            try shell(["ip", "netns", "add", name])
            try shell(["ip", "-n", name, "link", "set", "lo", "up"])
        }
        let handles = try names.map { try NetNamespace(path: "/var/run/netns/\($0)") }
        let thread = try NetnsThread()
        let capture = PodCapture(mode: .zest(CaptureOptions()), thread: thread)
        let clock = ContinuousClock()

        // The baseline installs exactly what Zest installs: take the ruleset text from one pod.
        try capture.install(in: handles[0])
        let rulesetText = try shell(["ip", "netns", "exec", names[0], "nft", "list", "table", "inet", "zest"])
        try capture.remove(from: handles[0])

        var install: [Duration] = [], listeners: [Duration] = [], remove: [Duration] = [], all: [Duration] = []
        for _ in 0..<rounds {
            var sockets: [FileDescriptor] = []
            let started = clock.now
            for handle in handles {
                install.append(try clock.measure { try capture.install(in: handle) })
                listeners.append(try clock.measure {
                    for port: UInt16 in [15001, 15006, 15008] {
                        var options = PodSocketOptions()
                        options.reusePort = true
                        sockets.append(try thread.openListener(in: handle, address: SocketAddress(ip: .anyV4, port: port),
                                                               options: options))
                    }
                })
            }
            all.append(clock.now - started)
            for fd in sockets { close(fd.rawValue) }
            for handle in handles { remove.append(try clock.measure { try capture.remove(from: handle) }) }
        }

        // Where the time goes: an empty hop into the namespace, and the nftables batch alone.
        var rulesOnly = CaptureOptions()
        rulesOnly.installPolicyRoute = false
        let tableOnly = PodCapture(mode: .zest(rulesOnly), thread: thread)
        var hop: [Duration] = [], table: [Duration] = [], tableRemove: [Duration] = []
        for handle in handles {
            hop.append(try clock.measure { _ = try thread.run(in: handle) { 0 } })
            table.append(try clock.measure { try tableOnly.install(in: handle) })
        }
        for handle in handles { tableRemove.append(try clock.measure { try tableOnly.remove(from: handle) }) }

        var baseline: [Duration] = [], baselineRemove: [Duration] = []
        for name in names.prefix(baselinePods) {
            baseline.append(try clock.measure {
                try shell(["ip", "netns", "exec", name, "sh", "-ec", """
                    nft -f -
                    for f in -4 -6; do
                      ip $f rule add fwmark 0x111/0xfff lookup 100 pref 32764
                      ip $f route add local default dev lo table 100
                    done
                    """], input: rulesetText)
            })
            baselineRemove.append(try clock.measure {
                try shell(["ip", "netns", "exec", name, "sh", "-ec", """
                    nft delete table inet zest
                    for f in -4 -6; do
                      ip $f rule del fwmark 0x111/0xfff lookup 100 pref 32764
                      ip $f route del local default dev lo table 100
                    done
                    """])
            })
        }

        let zestMedian = median(install), baseMedian = median(baseline)
        print("""
        | measure (\(pods) pods × \(rounds) rounds; baseline \(baselinePods) pods) | median ms | p90 ms |
        |---|---|---|
        | Zest install: policy route + nftables batch, per pod | \(ms(zestMedian)) | \(ms(percentile(install, 0.9))) |
        | Zest 3 marked listeners in the pod netns, per pod | \(ms(median(listeners))) | \(ms(percentile(listeners, 0.9))) |
        | Zest install + listeners, per pod | \(ms(median(zip(install, listeners).map { $0 + $1 }))) | \(ms(percentile(zip(install, listeners).map { $0 + $1 }, 0.9))) |
        | of which: empty closure on the netns thread (2 setns), per pod | \(ms(median(hop))) | \(ms(percentile(hop, 0.9))) |
        | of which: nftables batch alone (no policy route), per pod | \(ms(median(table))) | \(ms(percentile(table, 0.9))) |
        | nftables table removal alone, per pod | \(ms(median(tableRemove))) | \(ms(percentile(tableRemove, 0.9))) |
        | Zest remove, per pod | \(ms(median(remove))) | \(ms(percentile(remove, 0.9))) |
        | Baseline install: one `ip netns exec … sh` running `nft -f` + 4 `ip` commands, per pod | \(ms(baseMedian)) | \(ms(percentile(baseline, 0.9))) |
        | Baseline remove: same with `nft delete table` + 4 `ip … del`, per pod | \(ms(median(baselineRemove))) | \(ms(percentile(baselineRemove, 0.9))) |

        All \(pods) pods, install + listeners, per round: \(all.map { ms($0) + " ms" }.joined(separator: ", "))
        Ratio baseline/Zest install (median): \(String(format: "%.1f", seconds(baseMedian) / seconds(zestMedian)))×
        """)
    }
}

@discardableResult
private func shell(_ argv: [String], input: String? = nil) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    let out = Pipe(), inPipe = Pipe()
    p.standardOutput = out
    p.standardInput = inPipe
    try p.run()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inPipe.fileHandleForWriting.close()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw ValidationError("`\(argv.joined(separator: " "))` exited \(p.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

private func seconds(_ d: Duration) -> Double {
    let (s, a) = d.components
    return Double(s) + Double(a) / 1e18
}

private func ms(_ d: Duration) -> String { String(format: "%.2f", seconds(d) * 1000) }

private func median(_ values: [Duration]) -> Duration { percentile(values, 0.5) }

private func percentile(_ values: [Duration], _ p: Double) -> Duration {
    guard !values.isEmpty else { return .zero }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}
