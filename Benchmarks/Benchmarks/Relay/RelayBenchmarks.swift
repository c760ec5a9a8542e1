import Benchmark
import ZestCore
import ZestProxy
import ZestReactor

/// A client connected through an in-process relay to an in-process echo server. Setup is not
/// measured; each iteration sends one chunk and reads it back, so one iteration is one chunk
/// forwarded each way by the relay's loop. Malloc counts are for the whole process.
final class RelayRig: @unchecked Sendable {
    let echo: EchoServer
    let relay: PassthroughRelay
    let client: Socket
    let chunk: UnsafeMutableRawBufferPointer

    init(chunkSize: Int, pool: BufferPoolConfiguration, mode: CopyMode) throws {
        let loopback = SocketAddress(ip: .loopbackV4, port: 0)
        echo = try EchoServer(listen: loopback, bufferPool: pool)
        relay = try PassthroughRelay(RelayConfiguration(listen: loopback, upstream: echo.listenAddress, workers: 1,
                                                        copyMode: mode, bufferPool: pool))
        client = try Socket.connectBlocking(to: relay.listenAddress)
        chunk = .allocate(byteCount: chunkSize, alignment: 64)
        chunk.initializeMemory(as: UInt8.self, repeating: 0x42)
    }

    /// Sends one chunk and reads the same number of bytes back.
    func roundTrip() throws {
        try client.writeAll(chunk.baseAddress!, count: chunk.count)
        var got = 0
        while got < chunk.count {
            guard case .processed(let n) = try client.read(into: chunk.baseAddress! + got, count: chunk.count - got), n > 0 else {
                throw SyscallError("read", errno: 104)
            }
            got += n
        }
    }

    func close() {
        client.close()
        relay.shutdown()
        echo.shutdown()
        chunk.deallocate()
    }
}

/// Lets teardown reach the rig that setup built.
final class RigHolder: @unchecked Sendable {
    var rig: RelayRig?
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           warmupIterations: 200, maxDuration: .seconds(3), maxIterations: 200_000)

    // Steady-state forwarding: the mallocs column must read 0 per iteration.
    for records in [1, 4, 8] {
        let pool = BufferPoolConfiguration(slotCount: 64, payloadCapacity: BufferPoolConfiguration.payloadFillingTLSRecords(records))
        for mode in CopyMode.allCases {
            let holder = RigHolder()
            Benchmark("Relay forward 64KiB chunk, slot \(records)x16KiB, \(mode.rawValue)") { (benchmark: Benchmark, rig: RelayRig) in
                do {
                    for _ in benchmark.scaledIterations { try rig.roundTrip() }
                } catch {
                    benchmark.error("relay round trip failed: \(error)")
                }
            } setup: {
                let rig = try RelayRig(chunkSize: 64 << 10, pool: pool, mode: mode)
                holder.rig = rig
                return rig
            } teardown: {
                holder.rig?.close()
                holder.rig = nil
            }
        }
    }
}
