import Glibc
import Testing
import ZestCore
import ZestProxy
import ZestReactor
import ZestTestSupport

/// Bytes crossing the relay intact, end of stream in each direction on its own, resets passed on.
@Suite struct RelayStreamTests {
    @Test(arguments: CopyMode.allCases)
    func gibibyteEachWayArrivesIntactThroughTheRelay(mode: CopyMode) throws {
        let echo = try EchoServer(listen: loopbackAny, bufferPool: testPool)
        defer { echo.shutdown() }
        let relay = try PassthroughRelay(RelayConfiguration(listen: loopbackAny, upstream: echo.listenAddress, workers: 2,
                                                            copyMode: mode, bufferPool: testPool))
        defer { relay.shutdown() }
        let client = SharedSocket(try connectClient(relay.listenAddress))
        let total = 1 << 30
        let writer = Background<String> {
            var digest = SHA256Digest()
            var block = [UInt8](repeating: 0, count: 1 << 20)
            for i in block.indices { block[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
            var sent = 0
            var counter: UInt64 = 0
            while sent < total {
                // Stamp each block so reordered or repeated chunks change the digest.
                withUnsafeBytes(of: counter) { c in block.withUnsafeMutableBytes { $0.copyMemory(from: c) } }
                counter += 1
                try block.withUnsafeBytes { b in
                    digest.update(b)
                    try client.socket.writeAll(b.baseAddress!, count: b.count)
                }
                sent += block.count
            }
            try client.socket.shutdownWrite()
            return digest.finalize()
        }
        var digest = SHA256Digest()
        var received = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        defer { buffer.deallocate() }
        var sawEndOfStream = false
        while !sawEndOfStream {
            switch try client.socket.read(into: buffer.baseAddress!, count: buffer.count) {
            case .processed(0):
                sawEndOfStream = true
            case .processed(let n):
                digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                received += n
            case .wouldBlock:
                throw SyscallError("read", errno: ETIMEDOUT)
            }
        }
        let sentDigest = try writer.wait()
        #expect(received == total)
        #expect(digest.finalize() == sentDigest)
        #expect(waitUntil(timeout: .seconds(5)) { relay.stats().completed == 1 })
        let stats = relay.stats()
        #expect(stats.bytesToUpstream == UInt64(total))
        #expect(stats.bytesToClient == UInt64(total))
        #expect(stats.pool.inUse == 0)
    }

    @Test(arguments: CopyMode.allCases)
    func clientFINLeavesUpstreamToClientFlowing(mode: CopyMode) throws {
        let pair = try RelayedPair(mode: mode)
        let (relay, client, server) = (pair.relay, pair.client, pair.server)
        try send(client, Array("request".utf8))
        try client.shutdownWrite()
        #expect(try readUpTo(server, 100) == Array("request".utf8))
        // The upstream still talks after the client's FIN, and more than one buffer's worth.
        let reply = [UInt8](repeating: 7, count: 300_000)
        try send(server, reply)
        #expect(try readUpTo(client, reply.count) == reply)
        try server.shutdownWrite()
        #expect(try readUpTo(client, 1).isEmpty)
        #expect(waitUntil(timeout: .seconds(5)) { relay.stats().completed == 1 })
    }

    @Test(arguments: CopyMode.allCases)
    func upstreamFINLeavesClientToUpstreamFlowing(mode: CopyMode) throws {
        let pair = try RelayedPair(mode: mode)
        let (relay, client, server) = (pair.relay, pair.client, pair.server)
        try send(server, Array("banner".utf8))
        try server.shutdownWrite()
        #expect(try readUpTo(client, 100) == Array("banner".utf8))
        let upload = [UInt8](repeating: 9, count: 300_000)
        try send(client, upload)
        #expect(try readUpTo(server, upload.count) == upload)
        try client.shutdownWrite()
        #expect(try readUpTo(server, 1).isEmpty)
        #expect(waitUntil(timeout: .seconds(5)) { relay.stats().completed == 1 })
    }

    @Test func refusedUpstreamResetsTheClientPromptly() throws {
        let closedPort = try ListeningSocket(listeningOn: loopbackAny).localAddress()
        let relay = try PassthroughRelay(RelayConfiguration(listen: loopbackAny, upstream: closedPort, workers: 1, bufferPool: testPool))
        defer { relay.shutdown() }
        let start = MonotonicClock.now()
        // The reset can beat the client's own connect completion; either way it is a reset.
        #expect {
            let client = try connectClient(relay.listenAddress)
            try client.setReceiveTimeout(.seconds(2))
            _ = try readUpTo(client, 1)
        } throws: { ($0 as? SyscallError)?.isReset == true }
        #expect(MonotonicClock.now() - start < 1_000_000_000)
        #expect(relay.stats().connectFailures == 1)
    }

    @Test func upstreamConnectTimeoutResetsTheClient() throws {
        // A listener whose accept queue is full drops new SYNs, so a connect to it hangs.
        let backend = try ListeningSocket(listeningOn: loopbackAny, backlog: 0)
        let target = try backend.localAddress()
        var fillers: [Socket] = []
        for _ in 0..<3 { fillers.append(try Socket.connect(to: target).0) }
        let relay = try PassthroughRelay(RelayConfiguration(listen: loopbackAny, upstream: target, workers: 1,
                                                            connectTimeout: .milliseconds(300), bufferPool: testPool))
        defer { relay.shutdown() }
        let client = try connectClient(relay.listenAddress)
        try client.setReceiveTimeout(.seconds(5))
        let start = MonotonicClock.now()
        expectReset(client)
        let elapsed = MonotonicClock.now() - start
        #expect(elapsed >= 250_000_000 && elapsed < 3_000_000_000)
        #expect(relay.stats().connectFailures == 1)
        _ = fillers
    }

    @Test(arguments: CopyMode.allCases)
    func upstreamResetReachesTheClientAsReset(mode: CopyMode) throws {
        let pair = try RelayedPair(mode: mode)
        let (relay, client, server) = (pair.relay, pair.client, pair.server)
        try send(client, [1, 2, 3])
        #expect(try readUpTo(server, 3) == [1, 2, 3])
        server.closeWithReset()
        expectReset(client)
        #expect(waitUntil(timeout: .seconds(5)) { relay.stats().reset == 1 })
    }

    @Test(arguments: CopyMode.allCases)
    func clientResetReachesUpstreamAsReset(mode: CopyMode) throws {
        let pair = try RelayedPair(mode: mode)
        let (client, server) = (pair.client, pair.server)
        try send(server, [4, 5])
        #expect(try readUpTo(client, 2) == [4, 5])
        client.closeWithReset()
        expectReset(server)
    }

    @Test(arguments: CopyMode.allCases)
    func dataFollowedAtOnceByFINAlwaysDeliversTheEnd(mode: CopyMode) throws {
        // Bytes and FIN often arrive in one wake-up; the relay must still pass the FIN on.
        let echo = try EchoServer(listen: loopbackAny, bufferPool: testPool)
        defer { echo.shutdown() }
        let relay = try PassthroughRelay(RelayConfiguration(listen: loopbackAny, upstream: echo.listenAddress, workers: 2,
                                                            copyMode: mode, bufferPool: testPool))
        defer { relay.shutdown() }
        for i in 0..<300 {
            let client = try connectClient(relay.listenAddress)
            let message = Array("exchange \(i)".utf8)
            try send(client, message)
            try client.shutdownWrite()
            #expect(try readUpTo(client, 1000) == message)
        }
        #expect(waitUntil(timeout: .seconds(10)) { relay.stats().completed == 300 })
    }

    @Test func idleConnectionIsResetWhileABusyOneSurvives() throws {
        let echo = try EchoServer(listen: loopbackAny, bufferPool: testPool)
        defer { echo.shutdown() }
        let relay = try PassthroughRelay(RelayConfiguration(listen: loopbackAny, upstream: echo.listenAddress, workers: 1,
                                                            idleTimeout: .milliseconds(300), bufferPool: testPool))
        defer { relay.shutdown() }
        let idle = try connectClient(relay.listenAddress)
        let busy = try connectClient(relay.listenAddress)
        try send(idle, [1])
        #expect(try readUpTo(idle, 1) == [1])
        // The busy connection talks every 50 ms for three idle periods and must stay up.
        let start = MonotonicClock.now()
        while MonotonicClock.now() - start < 900_000_000 {
            try send(busy, [2])
            #expect(try readUpTo(busy, 1) == [2])
            usleep(50_000)
        }
        expectReset(idle)
        #expect(relay.stats().idleTimeouts == 1)
        try send(busy, [3])
        #expect(try readUpTo(busy, 1) == [3])
    }
}
