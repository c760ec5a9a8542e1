import Glibc
import LoadConsole
import ZestCore
import ZestReactor

/// Reads and discards everything a connection sends.
final class SinkConnection: EventHandler {
    unowned let loop: EventLoop
    let socket: Socket
    let buffer: UnsafeMutableRawBufferPointer
    init(_ socket: Socket, _ loop: EventLoop, _ buffer: UnsafeMutableRawBufferPointer) throws {
        self.socket = socket
        self.loop = loop
        self.buffer = buffer
        try loop.register(socket.descriptor!, self)
    }
    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        while socket.isOpen {
            switch try? socket.read(into: buffer.baseAddress!, count: buffer.count) {
            case .processed(let n) where n > 0: continue
            case .wouldBlock: return
            default:
                loop.deregister(descriptor)
                socket.close()
            }
        }
    }
    func loopStopping() { socket.close() }
}

/// Writes the same buffer again and again as fast as the socket takes it.
final class SendConnection: EventHandler {
    let socket: Socket
    let buffer: UnsafeMutableRawBufferPointer
    var bytes = 0
    init(_ socket: Socket, _ loop: EventLoop, _ buffer: UnsafeMutableRawBufferPointer) throws {
        self.socket = socket
        self.buffer = buffer
        try loop.register(socket.descriptor!, self)
    }
    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        while socket.isOpen {
            guard case .processed(let n) = try? socket.write(from: buffer.baseAddress!, count: buffer.count) else { return }
            bytes += n
        }
    }
    func loopStopping() { socket.close() }
}

final class StopTimer: TimerHandler {
    let loop: EventLoop
    init(_ loop: EventLoop) { self.loop = loop }
    func timerFired(_ timer: TimerID) { loop.handle.stop() }
}

func option(_ name: String, _ args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

/// SIGTERM and SIGINT.
func terminationSignals() -> sigset_t {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGTERM)
    sigaddset(&set, SIGINT)
    return set
}

/// Signal thread body: waits for SIGTERM/SIGINT (blocked everywhere else) and stops the loop.
func stopOnSignal(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let handle = Unmanaged<EventLoopHandle>.fromOpaque(raw!).takeRetainedValue()
    var set = terminationSignals()
    var sig: Int32 = 0
    sigwait(&set, &sig)
    handle.stop()
    return nil
}

func runLoad() throws {
    let args = Array(CommandLine.arguments.dropFirst())
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 4096)
    buffer.initializeMemory(as: UInt8.self, repeating: 0x5a)
    let pool = BufferPoolConfiguration(slotCount: 1, payloadCapacity: 64)

    switch args.first {
    case "sink":
        guard let listen = option("--listen", args).flatMap({ SocketAddress($0) }) else { fail("sink needs --listen ADDR") }
        var set = terminationSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let loop = try EventLoop(bufferPool: pool)
        let listener = try ListeningSocket(listeningOn: listen)
        say("listening on \(try listener.localAddress())")
        _ = try Acceptor(loop: loop, listener: listener) { [unowned loop] socket in
            _ = try? SinkConnection(socket, loop, buffer)
        }
        // A signal thread stops the loop; the loop thread is this one.
        let handle = loop.handle
        var thread = pthread_t()
        let box = Unmanaged.passRetained(handle).toOpaque()
        pthread_create(&thread, nil, stopOnSignal, box)
        loop.run()
    case "send":
        guard let to = option("--to", args).flatMap({ SocketAddress($0) }) else { fail("send needs --to ADDR") }
        let streams = option("--streams", args).flatMap { Int($0) } ?? 1
        let seconds = option("--seconds", args).flatMap { Double($0) } ?? 5
        let loop = try EventLoop(bufferPool: pool)
        var senders: [SendConnection] = []
        for _ in 0..<streams {
            let s = try Socket.connectBlocking(to: to)
            try s.setBlocking(false)
            senders.append(try SendConnection(s, loop, buffer))
        }
        let start = MonotonicClock.now()
        _ = loop.schedule(after: .milliseconds(Int64(seconds * 1000)), StopTimer(loop))
        loop.run()
        let elapsed = Double(MonotonicClock.now() - start) / 1e9
        say("bytes=\(senders.reduce(0) { $0 + $1.bytes }) seconds=\(elapsed)")
    default:
        fail("usage: RelayLoad sink --listen ADDR | send --to ADDR [--streams N] [--seconds S]")
    }
}
