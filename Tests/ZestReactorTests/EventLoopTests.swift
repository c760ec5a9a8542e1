import Glibc
import Synchronization
import Testing
import ZestCore
import ZestReactor
import ZestTestSupport

/// Counts its events and, when the loop stops, closes its socket.
final class CountingHandler: EventHandler {
    let socket: Socket
    var events = 0
    var stopped = false
    init(_ socket: Socket) { self.socket = socket }
    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) { self.events += 1 }
    func loopStopping() {
        stopped = true
        socket.close()
    }
}

final class Flag: Sendable {
    let value = Atomic<Int>(0)
}

@Suite struct EventLoopTests {
    @Test func tasksFromOtherThreadsRunOnTheLoopThread() throws {
        let flag = Flag()
        let group = try WorkerGroup(workers: 2, bufferPool: .init(slotCount: 4, payloadCapacity: 64)) { _ in }
        defer { group.shutdown() }
        for i in 0..<2 {
            group.execute(onWorker: i) { loop in
                #expect(loop.index == i)
                flag.value.add(1, ordering: .relaxed)
            }
        }
        #expect(waitUntil(timeout: .seconds(5)) { flag.value.load(ordering: .relaxed) == 2 })
    }

    @Test func timersFireOnTheLoopWithinTheirDeadline() throws {
        let flag = Flag()
        let group = try WorkerGroup(workers: 1, bufferPool: .init(slotCount: 4, payloadCapacity: 64)) { loop in
            final class Fire: TimerHandler {
                let flag: Flag
                init(_ f: Flag) { flag = f }
                func timerFired(_ timer: TimerID) { flag.value.store(Int(MonotonicClock.now() / 1_000_000), ordering: .relaxed) }
            }
            _ = loop.schedule(after: .milliseconds(30), Fire(flag))
        }
        defer { group.shutdown() }
        let start = MonotonicClock.now() / 1_000_000
        #expect(waitUntil(timeout: .seconds(5)) { flag.value.load(ordering: .relaxed) != 0 })
        let firedAt = UInt64(flag.value.load(ordering: .relaxed))
        #expect(firedAt + 5 >= start + 30)
    }

    @Test func edgeTriggeredHandlerSeesDataThenStopClosesItsSocket() throws {
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let client = try Socket.connectBlocking(to: listener.localAddress())
        let server = try acceptOne(listener)
        let loop = try EventLoop(bufferPool: .init(slotCount: 4, payloadCapacity: 64))
        let handler = CountingHandler(server)
        try loop.register(server.descriptor!, handler)
        #expect(loop.registeredCount == 1)
        loop.handle.stop()
        loop.run()
        #expect(handler.stopped)
        #expect(!server.isOpen)
        #expect(loop.registeredCount == 0)
        #expect(loop.isStopped)
        try client.setReceiveTimeout(.seconds(5))
        var byte: UInt8 = 0
        #expect(try client.read(into: &byte, count: 1) == .processed(0))
    }

    /// `forgetClosing` skips EPOLL_CTL_DEL: the close takes the socket out of epoll. The handler
    /// is gone at once, and the descriptor number, reused by another socket, serves a new handler
    /// without events meant for the old one.
    @Test func aForgottenClosedDescriptorNumberServesItsNextSocketOnly() throws {
        final class StopOnEvent: EventHandler {
            let loop: EventLoop
            var events = 0
            init(_ loop: EventLoop) { self.loop = loop }
            func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
                self.events += 1
                loop.handle.stop()
            }
            func loopStopping() {}
        }
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        let firstClient = try Socket.connectBlocking(to: listener.localAddress())
        let first = try acceptOne(listener)
        let loop = try EventLoop(bufferPool: .init(slotCount: 1, payloadCapacity: 64))
        let fd = first.descriptor!
        let old = CountingHandler(first)
        try loop.register(fd, old)
        loop.forgetClosing(fd)
        #expect(loop.registeredCount == 0)
        first.close()
        let bytes: [UInt8] = [1, 2, 3, 9]
        _ = try? firstClient.write(from: bytes, count: 3)

        let secondClient = try Socket.connectBlocking(to: listener.localAddress())
        let second = try acceptOne(listener)
        #expect(dup2(second.descriptor!.rawValue, fd.rawValue) == fd.rawValue)
        second.close()
        let reused = Socket(owning: fd)
        defer { reused.close() }
        let next = StopOnEvent(loop)
        try loop.register(fd, next)
        #expect(try secondClient.write(from: bytes, count: 1) == .processed(1))
        loop.run()
        #expect(next.events >= 1)
        #expect(old.events == 0)
        withExtendedLifetime((firstClient, secondClient)) {}
    }

    @Test func registeringAfterStopFails() throws {
        let loop = try EventLoop(bufferPool: .init(slotCount: 1, payloadCapacity: 64))
        loop.handle.stop()
        loop.run()
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!)
        #expect(throws: SyscallError.self) { try loop.register(listener.descriptor!, CountingHandler(Socket(owning: FileDescriptor(rawValue: -1)))) }
    }

    @Test func workerGroupSetupErrorStopsEveryWorkerAndIsRethrown() {
        struct SetupFailed: Error {}
        #expect(throws: SetupFailed.self) {
            _ = try WorkerGroup(workers: 3, bufferPool: .init(slotCount: 1, payloadCapacity: 64)) { loop in
                if loop.index == 1 { throw SetupFailed() }
            }
        }
    }
}
