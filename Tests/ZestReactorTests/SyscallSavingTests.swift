import Glibc
import Testing
import ZestCore
@testable import ZestReactor
import ZestTestSupport

/// Calls the reactor avoids on the per-connection and per-message path, and opt-in busy polling.
@Suite struct SyscallSavingTests {
    @Test(arguments: ["127.0.0.1:0", "[::1]:0"])
    func acceptedSocketInheritsNoDelayAndKnowsItsPeerFromAccept(_ text: String) throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress(text)!)
        #expect(listener.noDelay)
        let client = try Socket.connectBlocking(to: listener.localAddress())
        let server = try acceptOne(listener)
        let fd = server.descriptor!.rawValue
        #expect(try Posix.getIntOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY) != 0)
        #expect(try server.peerAddress() == client.localAddress())
        // An adopted listener reads the option back instead of assuming it.
        let adopted = ListeningSocket(adopting: FileDescriptor(rawValue: dup(listener.descriptor!.rawValue)))
        #expect(adopted.noDelay)
    }

    @Test func refusedConnectIsReportedFromTheEventsAndSuccessNeedsNoSOError() throws {
        let closed = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!).localAddress()
        let refused: Socket
        do {
            (refused, _) = try Socket.connect(to: closed)
        } catch {
            #expect(error.errno == ECONNREFUSED)
            return
        }
        var p = pollfd(fd: refused.descriptor!.rawValue, events: Int16(POLLOUT), revents: 0)
        #expect(poll(&p, 1, 5000) == 1)
        #expect(throws: SyscallError.self) { try refused.finishConnect(reported: [.writable, .error, .hangup]) }

        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let (ok, _) = try Socket.connect(to: listener.localAddress())
        var q = pollfd(fd: ok.descriptor!.rawValue, events: Int16(POLLOUT), revents: 0)
        #expect(poll(&q, 1, 5000) == 1)
        try ok.finishConnect(reported: [.writable])
        _ = try acceptOne(listener)
    }

    /// Two ends of one connection registered on one loop bounce a byte 200 times: each event
    /// makes the next one before the loop waits again, so a spinning loop finds it in its
    /// zero-timeout poll (a hit) and a non-spinning loop never counts one.
    @Test(arguments: [Duration.zero, .microseconds(200)])
    func busyPollFindsEventsWithoutBlockingOnlyWhenEnabled(_ spin: Duration) throws {
        final class Bouncer: EventHandler {
            let socket: Socket
            unowned let loop: EventLoop
            let limit: Int
            var bounces: () -> Int
            var bounce: () -> Void
            init(_ s: Socket, _ l: EventLoop, limit: Int, bounces: @escaping () -> Int, bounce: @escaping () -> Void) {
                socket = s; loop = l; self.limit = limit; self.bounces = bounces; self.bounce = bounce
            }
            func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
                var b: UInt8 = 0
                while recv(descriptor.rawValue, &b, 1, Int32(MSG_DONTWAIT)) == 1 {
                    bounce()
                    if bounces() >= limit { loop.handle.stop(); return }
                    _ = send(descriptor.rawValue, &b, 1, Int32(MSG_NOSIGNAL))
                }
            }
            func loopStopping() { socket.close() }
        }
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let client = try Socket.connectBlocking(to: listener.localAddress())
        let server = try acceptOne(listener)
        let loop = try EventLoop(bufferPool: .init(slotCount: 1, payloadCapacity: 64))
        loop.busyPoll = spin
        var count = 0
        for s in [client, server] {
            try loop.register(s.descriptor!, Bouncer(s, loop, limit: 200, bounces: { count }, bounce: { count += 1 }))
        }
        var b: UInt8 = 1
        #expect(send(client.descriptor!.rawValue, &b, 1, Int32(MSG_NOSIGNAL)) == 1)
        loop.run()
        #expect(count == 200)
        if spin == .zero {
            #expect(loop.busyPollHits == 0)
        } else {
            #expect(loop.busyPollHits > 100)
        }
    }
}
