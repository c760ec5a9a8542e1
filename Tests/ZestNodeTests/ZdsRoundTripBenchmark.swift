import Foundation
import Glibc
import Testing
import ZestNode
import ZestTestSupport

/// What the ZDS layer adds to enrolling a pod: an AddWorkload/DelWorkload round trip
/// through the real client (decode, descriptor checks, namespace probe, ack) against a
/// bare SOCK_SEQPACKET ping-pong carrying one descriptor, measured in the same run.
/// Opt-in (`ZEST_BENCH=1`): it prints figures for docs/bench/zds.md and asserts only that
/// the protocol's share stays far below the 20 ms enrollment budget.
@Suite("ZDS round-trip benchmark", .enabled(if: ProcessInfo.processInfo.environment["ZEST_BENCH"] == "1"))
struct ZdsRoundTripBenchmark {
    static let rounds = 5
    static let iterations = 1000

    /// A client whose delegate does nothing, so only the protocol is measured.
    final class NoopDelegate: EnrollmentDelegate {
        func enroll(_ uid: PodUID, info: WorkloadInfo, netns: NetNamespaceHandle) throws {}
        func keep(_ uid: PodUID) {}
        func remove(_ uid: PodUID) {}
        func snapshotComplete() {}
    }

    @Test func addAndDeleteRoundTripsAgainstABareSocketPingPong() throws {
        let dir = TempDirectory()
        defer { dir.destroy() }
        let netns = try NetNamespaceHandle.open(path: "/proc/self/ns/net")
        let fd = netns.file.descriptor.rawValue
        let request = WorkloadRequest.add(uid: PodUID("0e5f1c9a-1111-4222-8333-444455556666"),
                                          info: WorkloadInfo(name: "web-0", namespace: "shop", serviceAccount: "web"))

        // Baseline: an echo thread answering each datagram with two bytes.
        let echoServer = try ZdsServer(path: dir.path + "/echo.sock")
        let echoClient = try SeqpacketSocket.connect(path: dir.path + "/echo.sock")
        let echo = try #require(try echoServer.accept(until: deadline()))
        let echoDone = DispatchSemaphore(value: 0)
        Thread {
            while case .datagram = (try? echo.socket.receive()) ?? .closed {
                try? echo.socket.send([0x0a, 0x00])
            }
            echoDone.signal()
        }.start()

        let server = try ZdsServer(path: dir.socketPath)
        let client = ZdsClient(configuration: {
            var c = ZdsClient.Configuration(socketPath: dir.socketPath)
            c.log = { _ in }
            return c
        }(), delegate: NoopDelegate())
        client.start()
        defer { client.stop() }
        let conn = try acceptClient(server)
        #expect(try conn.send(.snapshotSent, until: deadline()).isAck)

        var bare: [Duration] = [], zds: [Duration] = []
        let clock = ContinuousClock()
        let encoded = request.encoded()
        for _ in 0..<Self.rounds {
            bare.append(clock.measure {
                for _ in 0..<Self.iterations {
                    try? echoClient.send(encoded, descriptors: [fd])
                    _ = try? echoClient.receive()
                }
            } / Self.iterations)
            zds.append(try clock.measure {
                for _ in 0..<Self.iterations {
                    _ = try conn.send(request, netns: netns, until: nil)
                    _ = try conn.send(.delete(uid: PodUID("0e5f1c9a-1111-4222-8333-444455556666")), until: nil)
                }
            } / (2 * Self.iterations))
        }
        echoClient.shutdown()
        echoDone.wait()

        let bareMedian = bare.sorted()[Self.rounds / 2], zdsMedian = zds.sorted()[Self.rounds / 2]
        let ratio = seconds(zdsMedian) / seconds(bareMedian)
        print("""
            zds-bench: bare seqpacket+fd round trip median \(bareMedian) per op (rounds \(bare))
            zds-bench: ZDS request+ack round trip median \(zdsMedian) per op (rounds \(zds))
            zds-bench: ratio ZDS/bare \(String(format: "%.2f", ratio))
            """)
        #expect(zdsMedian < .milliseconds(1), "the protocol alone must stay far below the 20 ms enrollment budget")
    }
}

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
