import Glibc
import Testing
import ZestCore
import ZestReactor
import ZestTestSupport

/// The level-triggered accept loop: one `accept4` per event, nothing stranded in the queue,
/// and a pause (`backOff`) that resumes by itself.
@Suite struct AcceptorTests {
    /// Runs `loop` on this thread until `done()` or the deadline, checking after every event
    /// by way of a short timer (the loop has no other reason to wake).
    private func run(_ loop: EventLoop, until done: @escaping () -> Bool, within limit: Duration = .seconds(5)) {
        final class Check: TimerHandler {
            let loop: EventLoop
            let done: () -> Bool
            let deadline: ContinuousClock.Instant
            init(_ loop: EventLoop, _ done: @escaping () -> Bool, _ deadline: ContinuousClock.Instant) {
                self.loop = loop; self.done = done; self.deadline = deadline
            }
            func timerFired(_ timer: TimerID) {
                if done() || ContinuousClock().now > deadline { loop.handle.stop() } else { _ = loop.schedule(after: .milliseconds(2), self) }
            }
        }
        _ = loop.schedule(after: .milliseconds(1), Check(loop, done, ContinuousClock().now + limit))
        loop.run()
    }

    @Test func everyQueuedConnectionIsAcceptedThoughEachEventTakesOne() throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let address = try listener.localAddress()
        let clients = try (0..<5).map { _ in try Socket.connectBlocking(to: address) }
        let loop = try EventLoop(bufferPool: .init(slotCount: 1, payloadCapacity: 64))
        var accepted: [Socket] = []
        let acceptor = try Acceptor(loop: loop, listener: listener) { accepted.append($0) }
        run(loop) { accepted.count == 5 }
        #expect(accepted.count == 5, "connections left in the accept queue")
        #expect(acceptor.accepted == 5)
        for s in accepted { s.close() }
        withExtendedLifetime(clients) {}
    }

    @Test func aPausedListenerResumesOnItsOwnAndTakesWhatWaited() throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let address = try listener.localAddress()
        let loop = try EventLoop(bufferPool: .init(slotCount: 1, payloadCapacity: 64))
        var accepted: [Socket] = []
        var acceptor: Acceptor?
        acceptor = try Acceptor(loop: loop, listener: listener) { socket in
            accepted.append(socket)
            // The first connection makes the owner pause, as a relay does when it cannot open
            // the upstream socket: the others wait in the queue until the retry.
            if accepted.count == 1 { acceptor?.backOff() }
        }
        let clients = try (0..<3).map { _ in try Socket.connectBlocking(to: address) }
        run(loop) { accepted.count == 3 }
        #expect(accepted.count == 3, "the listener did not resume after backOff")
        for s in accepted { s.close() }
        withExtendedLifetime(clients) {}
    }

    /// A drain takes what already waits in the queue before closing: closing over those
    /// connections would reset clients that completed their handshake with us.
    @Test func closingForADrainServesTheConnectionsAlreadyQueued() throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let address = try listener.localAddress()
        let loop = try EventLoop(bufferPool: .init(slotCount: 1, payloadCapacity: 64))
        var accepted: [Socket] = []
        let acceptor = try Acceptor(loop: loop, listener: listener) { accepted.append($0) }
        let clients = try (0..<4).map { _ in try Socket.connectBlocking(to: address) }
        acceptor.closeTakingQueued()
        #expect(accepted.count == 4, "queued connections were dropped by the close")
        #expect(listener.descriptor == nil)
        for (client, server) in zip(clients, accepted) {
            var byte: UInt8 = 7
            #expect(try server.write(from: &byte, count: 1) == .processed(1))
            try client.setReceiveTimeout(.seconds(5))
            var got: UInt8 = 0
            #expect(try client.read(into: &got, count: 1) == .processed(1) && got == 7)
        }
        for s in accepted { s.close() }
        loop.handle.stop()
        loop.run()
    }
}
