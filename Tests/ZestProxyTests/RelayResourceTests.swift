import Foundation
import Glibc
import Testing
import ZestCore
import ZestProxy
import ZestReactor
import ZestTestSupport

/// Many connections, bounded memory, descriptors that come back, and a stop that closes everything.
@Suite struct RelayResourceTests {
    @Test func twoThousandConcurrentConnectionsEachMoveTheirOwnData() throws {
        raiseOpenFileLimit()
        let echo = try EchoServer(listen: loopbackAny, workers: 2, bufferPool: testPool)
        defer { echo.shutdown() }
        let relay = try PassthroughRelay(RelayConfiguration(listen: loopbackAny, upstream: echo.listenAddress, workers: 2,
                                                            bufferPool: testPool))
        defer { relay.shutdown() }
        let count = 2000, size = 4096
        var clients: [Socket] = []
        clients.reserveCapacity(count)
        for _ in 0..<count { clients.append(try connectClient(relay.listenAddress)) }
        func payload(_ i: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7 &+ i >> 8) } }
        // Every connection is open at once and has data in flight before any is read back.
        for (i, c) in clients.enumerated() { try send(c, payload(i)) }
        #expect(waitUntil(timeout: .seconds(20)) { relay.stats().active == count })
        for (i, c) in clients.enumerated() {
            let back = try readUpTo(c, size)
            #expect(back == payload(i), "connection \(i) got someone else's or damaged bytes")
        }
        for c in clients { c.close() }
        #expect(waitUntil(timeout: .seconds(20)) { relay.stats().active == 0 })
        let stats = relay.stats()
        #expect(stats.accepted == UInt64(count))
        #expect(stats.bytesToUpstream == UInt64(count * size))
        #expect(stats.pool.inUse == 0)
    }

    @Test func stalledReaderKeepsRelayMemoryBounded() throws {
        let backend = try ListeningSocket(listeningOn: loopbackAny)
        let relay = try RelayProcess(to: backend.localAddress())
        defer { relay.stop() }
        let client = try connectClient(relay.listenAddress)
        let server = try acceptBlocking(backend)
        try send(client, [0])
        #expect(try readUpTo(server, 1) == [0])
        let baseline = relay.residentBytes()
        #expect(baseline > 0)
        // The backend reads nothing for 5 s while the client pushes as fast as it can.
        try client.setBlocking(false)
        var chunk = [UInt8](repeating: 0x5a, count: 1 << 16)
        var pushed = 0
        var peak = baseline
        let end = MonotonicClock.now() + 5_000_000_000
        while MonotonicClock.now() < end {
            let r = try chunk.withUnsafeMutableBytes { try client.write(from: $0.baseAddress!, count: $0.count) }
            if case .processed(let n) = r { pushed += n } else { usleep(2000) }
            peak = max(peak, relay.residentBytes())
        }
        #expect(pushed > 0)
        #expect(peak - baseline < 16 << 20, "relay RSS grew by \(peak - baseline) bytes while its reader stalled")
        // The relay stopped reading but lost nothing: everything pushed arrives once the reader resumes.
        try client.setBlocking(true)
        try client.shutdownWrite()
        var drained = 0
        while true {
            let got = try chunk.withUnsafeMutableBytes { try server.read(into: $0.baseAddress!, count: $0.count) }
            guard case .processed(let n) = got, n > 0 else { break }
            drained += n
        }
        #expect(drained == pushed)
    }

    @Test func descriptorsReturnToBaselineAfterConnectionsClose() throws {
        let echo = try EchoServer(listen: loopbackAny, bufferPool: testPool)
        defer { echo.shutdown() }
        let relay = try RelayProcess(to: echo.listenAddress, workers: 2)
        defer { relay.stop() }
        let baseline = relay.openDescriptors()
        #expect(baseline > 0)
        var clients: [Socket] = []
        for i in 0..<200 {
            let c = try connectClient(relay.listenAddress)
            try send(c, [UInt8(i & 0xff)])
            clients.append(c)
        }
        for (i, c) in clients.enumerated() { #expect(try readUpTo(c, 1) == [UInt8(i & 0xff)]) }
        #expect(relay.openDescriptors() >= baseline + 400)
        // Half of them end cleanly, half with a reset: both paths must give descriptors back.
        for (i, c) in clients.enumerated() { if i % 2 == 0 { c.close() } else { c.closeWithReset() } }
        #expect(waitUntil(timeout: .seconds(10)) { relay.openDescriptors() == baseline },
                "relay holds \(relay.openDescriptors()) descriptors, started with \(baseline)")
    }

    @Test func cleanStopWithOpenConnectionsClosesEveryDescriptor() throws {
        let echo = try EchoServer(listen: loopbackAny, bufferPool: testPool)
        defer { echo.shutdown() }
        var relay: PassthroughRelay? = try PassthroughRelay(
            RelayConfiguration(listen: loopbackAny, upstream: echo.listenAddress, workers: 2, bufferPool: testPool))
        let address = relay!.listenAddress
        var clients: [Socket] = []
        for _ in 0..<50 {
            let c = try connectClient(address)
            try send(c, [1, 2, 3])
            #expect(try readUpTo(c, 3) == [1, 2, 3])
            clients.append(c)
        }
        let held = relay!.registeredDescriptors()
        #expect(held.count >= 2 + 100)
        // Socket inodes are unique, so a reused descriptor number cannot pass for a leaked one.
        let inodes = held.compactMap { fd -> (Int32, UInt) in
            var st = stat()
            fstat(fd.rawValue, &st)
            return (fd.rawValue, UInt(st.st_ino))
        }
        relay!.shutdown()
        relay = nil
        for (fd, inode) in inodes {
            var st = stat()
            let stillOurs = fstat(fd, &st) == 0 && UInt(st.st_ino) == inode
            #expect(!stillOurs, "descriptor \(fd) is still open after stop")
        }
        // Clients see their connections end (reset) instead of hanging.
        for c in clients {
            #expect(throws: SyscallError.self) { _ = try readUpTo(c, 1) }
        }
        #expect(throws: SyscallError.self) { _ = try Socket.connectBlocking(to: address, timeout: .seconds(2)) }
    }

    @Test func acceptResumesAfterRunningOutOfDescriptors() throws {
        let echo = try EchoServer(listen: loopbackAny, bufferPool: testPool)
        defer { echo.shutdown() }
        let probe = try RelayProcess(to: echo.listenAddress)
        let baseline = probe.openDescriptors()
        probe.stop()
        // Room for exactly four relayed connections (two descriptors each).
        let relay = try RelayProcess(to: echo.listenAddress, openFileLimit: baseline + 8)
        defer { relay.stop() }
        var first: [Socket] = []
        for i in 0..<4 {
            let c = try connectClient(relay.listenAddress)
            try send(c, [UInt8(i)])
            #expect(try readUpTo(c, 1) == [UInt8(i)])
            first.append(c)
        }
        // These wait in the accept queue: the relay is out of descriptors (EMFILE).
        // One may instead be accepted into the last free descriptor and reset at once because
        // its upstream socket could not be opened (then the relay backs off): a prompt, honest
        // failure, not a stall.
        var waiting: [(Int, Socket)] = []
        for i in 0..<3 {
            do {
                let c = try connectClient(relay.listenAddress)
                try send(c, [UInt8(100 + i)])
                waiting.append((i, c))
            } catch {
                #expect((error as? SyscallError)?.isReset == true)
            }
        }
        // Freeing descriptors lets the retry timer accept them; no new connection is needed.
        for c in first { c.close() }
        var served = 0
        for (i, c) in waiting {
            try c.setReceiveTimeout(.seconds(5))
            do {
                if try readUpTo(c, 1) == [UInt8(100 + i)] { served += 1 }
            } catch {
                #expect((error as? SyscallError)?.isReset == true, "waiting connection \(i) stalled: \(error)")
            }
        }
        #expect(served >= 2)
    }
}
