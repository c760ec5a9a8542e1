import Glibc
import Testing
import ZestCore
import ZestProxy
import ZestReactor
import ZestRedirect
import ZestTestSupport

/// What a per-connection socket costs when it must be made inside a pod's namespace through
/// the `NetnsThread` (one hand-off and two `setns` per socket), against the same socket made
/// in the caller's own namespace, measured in the same run. Prints the figures recorded in
/// docs/bench/proxy.md; asserts only that every connect was made.
@Suite(.enabled(if: Privilege.canRunPrivilegedTests, Comment(rawValue: Privilege.skipReason)))
struct PodSocketCostTests {
    @Test func measurePodNamespaceSocketCostAgainstLocalSockets() throws {
        let pod = try TestNamespace("cost")
        defer { pod.destroy() }
        let handle = try NetNamespace(path: pod.path)
        let network = NetnsPodNetwork(thread: try NetnsThread(), namespace: handle)
        let perRound = 500
        var local: [Double] = [], inPod: [Double] = []
        for _ in 0..<5 {
            let listener = try ListeningSocket(listeningOn: SocketAddress(ip: .loopbackV4, port: 0), backlog: 4096)
            let target = try listener.localAddress()
            local.append(try timePerConnect(perRound) { try Socket.connect(to: target).0 })
            listener.close()

            let podListener = ListeningSocket(adopting: try network.openListener(SocketAddress(ip: .loopbackV4, port: 0)))
            let podTarget = try podListener.localAddress()
            inPod.append(try timePerConnect(perRound) { try network.connect(to: podTarget, from: nil) })
            podListener.close()
        }
        let l = median(local), p = median(inPod)
        print("pod-socket-cost: local connect \(micro(l)) µs, via NetnsThread \(micro(p)) µs, ratio \(ratio(p / l))")
        #expect(local.count == 5 && inPod.count == 5)
    }

    private func timePerConnect(_ n: Int, _ make: () throws -> Socket) throws -> Double {
        let clock = ContinuousClock()
        var sockets: [Socket] = []
        sockets.reserveCapacity(n)
        let start = clock.now
        for _ in 0..<n { sockets.append(try make()) }
        let elapsed = clock.now - start
        for s in sockets { s.close() }
        let (sec, atto) = elapsed.components
        return (Double(sec) + Double(atto) / 1e18) / Double(n)
    }

    private func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    private func micro(_ s: Double) -> String { String(Int((s * 1e7).rounded())).withDecimal(1) }
    private func ratio(_ r: Double) -> String { String(Int((r * 100).rounded())).withDecimal(2) }
}

extension String {
    /// "1234".withDecimal(1) == "123.4": fixed-point formatting without Foundation.
    fileprivate func withDecimal(_ places: Int) -> String {
        let padded = count <= places ? String(repeating: "0", count: places - count + 1) + self : self
        return padded.dropLast(places) + "." + padded.suffix(places)
    }
}
