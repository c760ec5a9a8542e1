import ArgumentParser
import Foundation
import Glibc
import Synchronization
import ZestCore
import ZestIdentity
import ZestReactor
import ZestTLS

/// `zest bench-tls`: measurements behind docs/bench/tls.md, run by Benchmarks/scripts/tls-bench.sh.
/// Hidden from help: it is a benchmark driver, not an operator command.
struct TLSBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tls",
        abstract: "Benchmark Zest's TLS layer (bulk transfer on the reactor, full handshakes).",
        shouldDisplay: false,
        subcommands: [TLSBulkBench.self, TLSHandshakeBench.self]
    )
}

struct TLSBenchCertificates: ParsableArguments {
    @Option(help: "Directory with the server's cert.pem, key.pem, root.pem (from `zest ca issue`).")
    var serverDir: String

    @Option(help: "Directory with the client's cert.pem, key.pem, root.pem.")
    var clientDir: String

    @Option(help: "TLS 1.3 suite: aes256 or aes128.")
    var suite: String = "aes256"

    func load(_ dir: String) throws -> WorkloadCertificate {
        do {
            return try FileCertificateProvider(paths: .init(certificateChain: dir + "/cert.pem", privateKey: dir + "/key.pem",
                                                            roots: dir + "/root.pem")).current
        } catch {
            throw ValidationError(error.description)
        }
    }

    func contexts() throws -> (server: TLSContext, client: TLSContext, serverIdentity: SpiffeID) {
        let settings = TLSSettings(cipherSuites: suite == "aes128" ? [.aes128GCM] : [.aes256GCM])
        let server = try load(serverDir), client = try load(clientDir)
        return (try TLSContext(role: .server, certificate: server, settings: settings),
                try TLSContext(role: .client, certificate: client, settings: settings), server.identity)
    }
}

struct TLSBulkBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulk",
        abstract: "One mTLS connection over loopback, each end on its own reactor thread; prints MB/s."
    )

    @OptionGroup var certificates: TLSBenchCertificates

    @Option(help: "Megabytes (MiB) to send.")
    var megabytes: Int = 2048

    @Option(help: "Bytes handed to each SSL_write.")
    var writeSize: Int = 65536

    func run() throws {
        let (serverCtx, clientCtx, serverIdentity) = try certificates.contexts()
        let total = megabytes << 20
        let listener = try ListeningSocket(listeningOn: SocketAddress("127.0.0.1:0")!, reusePort: false)
        let address = try listener.localAddress()
        let client = try Socket.connectBlocking(to: address)
        try client.setBlocking(false)
        var accepted: Socket?
        while accepted == nil {
            if case .processed(let s) = try listener.accept() { accepted = s } else { usleep(1000) }
        }
        let serverFD = dup(accepted!.descriptor!.rawValue), clientFD = dup(client.descriptor!.rawValue)
        accepted = nil
        let result = BenchResult()
        let receiverThread = Thread {
            runLoop(result) { loop in
                BulkReceiver(loop: loop, socket: Socket(owning: FileDescriptor(rawValue: serverFD)), context: serverCtx,
                             total: total, result: result)
            }
        }
        let senderThread = Thread {
            runLoop(result) { loop in
                BulkSender(loop: loop, socket: Socket(owning: FileDescriptor(rawValue: clientFD)), context: clientCtx,
                           expected: serverIdentity, total: total, chunk: writeSize, result: result)
            }
        }
        receiverThread.start()
        senderThread.start()
        guard result.waitForReceiver(timeout: .seconds(600)) else { throw ValidationError("bulk transfer did not finish: \(result.error ?? "timeout")") }
        if let e = result.error { throw ValidationError(e) }
        let seconds = result.seconds
        let mbps = Double(total) / 1_000_000 / seconds
        let perCPU = Double(total) / 1_000_000 / result.cpuSeconds
        Console.out("zest-tls-bulk suite=\(certificates.suite) bytes=\(total) seconds=\(String(format: "%.3f", seconds)) MBps=\(String(format: "%.1f", mbps)) cpu_seconds=\(String(format: "%.3f", result.cpuSeconds)) MB_per_cpu_second=\(String(format: "%.1f", perCPU))")
    }
}

struct TLSHandshakeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handshakes",
        abstract: "Full mTLS handshakes, client and server on one thread over socketpairs; prints handshakes/s."
    )

    @OptionGroup var certificates: TLSBenchCertificates

    @Option(help: "Handshakes to run.")
    var count: Int = 2000

    func run() throws {
        let (serverCtx, clientCtx, serverIdentity) = try certificates.contexts()
        let start = ContinuousClock().now
        let cpuStart = processCPUSeconds()
        for _ in 0..<count {
            var fds: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
                throw ValidationError("socketpair: errno \(errno)")
            }
            defer { close(fds[0]); close(fds[1]) }
            let c = try TLSConnection(context: clientCtx, fd: FileDescriptor(rawValue: fds[0]), expectedPeerIdentities: [serverIdentity])
            let s = try TLSConnection(context: serverCtx, fd: FileDescriptor(rawValue: fds[1]))
            var clientDone = false, serverDone = false
            while !(clientDone && serverDone) {
                if !clientDone { clientDone = try c.handshake() == .done(0) }
                if !serverDone { serverDone = try s.handshake() == .done(0) }
            }
        }
        let elapsed = ContinuousClock().now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let cpu = processCPUSeconds() - cpuStart
        Console.out("zest-tls-handshakes count=\(count) seconds=\(String(format: "%.3f", seconds)) per_second=\(String(format: "%.0f", Double(count) / seconds)) per_cpu_second=\(String(format: "%.0f", Double(count) / cpu))")
    }
}

/// Shared between the two loop threads and the main thread.
final class BenchResult: Sendable {
    private let state = Mutex((start: ContinuousClock.Instant?.none, end: ContinuousClock.Instant?.none,
                               cpuStart: 0.0, cpuEnd: 0.0, error: String?.none))
    func started() {
        state.withLock { if $0.start == nil { $0.start = ContinuousClock().now; $0.cpuStart = processCPUSeconds() } }
    }
    func finished() { state.withLock { $0.end = ContinuousClock().now; $0.cpuEnd = processCPUSeconds() } }
    /// CPU seconds of the whole process (both loop threads, user and kernel) during the transfer.
    var cpuSeconds: Double { state.withLock { $0.cpuEnd - $0.cpuStart } }
    func failed(_ e: String) { state.withLock { if $0.error == nil { $0.error = e } } }
    var error: String? { state.withLock { $0.error } }
    var seconds: Double {
        state.withLock { s in
            guard let a = s.start, let b = s.end else { return .nan }
            let d = b - a
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
    }
    func waitForReceiver(timeout: Duration) -> Bool {
        let deadline = ContinuousClock().now + timeout
        while ContinuousClock().now < deadline {
            if state.withLock({ $0.end != nil || $0.error != nil }) { return true }
            usleep(2000)
        }
        return false
    }
}

/// CPU time consumed by this process so far (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`).
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Creates a loop on this thread, registers the handler `make` builds, runs until stopped.
private func runLoop(_ result: BenchResult, _ make: (EventLoop) -> TLSBenchHandler) {
    do {
        let loop = try EventLoop()
        let handler = make(loop)
        try loop.register(handler.socket.descriptor!, handler)
        handler.step()
        loop.run()
    } catch {
        result.failed("\(error)")
    }
}

/// A reactor handler driving one TLSConnection: on every edge it calls `step()`.
class TLSBenchHandler: EventHandler {
    unowned let loop: EventLoop
    let socket: Socket
    let tls: TLSConnection
    let result: BenchResult
    var handshakeDone = false

    init(loop: EventLoop, socket: Socket, tls: TLSConnection, result: BenchResult) {
        self.loop = loop
        self.socket = socket
        self.tls = tls
        self.result = result
    }

    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) { step() }
    func loopStopping() { socket.close() }

    /// Advances the handshake; true once it is complete.
    func handshakeStep() -> Bool {
        if handshakeDone { return true }
        do {
            handshakeDone = try tls.handshake() == .done(0)
        } catch {
            fail("\(error)")
        }
        return handshakeDone
    }

    func fail(_ e: String) {
        result.failed(e)
        loop.handle.stop()
    }

    func step() {}
}

final class BulkSender: TLSBenchHandler {
    let total: Int
    let chunk: UnsafeMutableRawBufferPointer
    var sent = 0

    init(loop: EventLoop, socket: Socket, context: TLSContext, expected: SpiffeID, total: Int, chunk: Int, result: BenchResult) {
        self.total = total
        self.chunk = .allocate(byteCount: chunk, alignment: 64)
        for i in 0..<chunk { self.chunk[i] = UInt8(truncatingIfNeeded: i &* 7) }
        let tls = try! TLSConnection(context: context, fd: socket.descriptor!, expectedPeerIdentities: [expected])
        super.init(loop: loop, socket: socket, tls: tls, result: result)
    }

    deinit { chunk.deallocate() }

    override func step() {
        guard handshakeStep() else { return }
        while sent < total {
            let n = min(chunk.count, total - sent)
            do {
                switch try tls.write(from: UnsafeRawBufferPointer(rebasing: chunk[0..<n])) {
                case .done(let k): sent += k
                case .wantRead, .wantWrite: return
                case .closed: return fail("receiver closed early")
                }
            } catch {
                return fail("\(error)")
            }
        }
        _ = try? tls.shutdown()
        loop.handle.stop()
    }
}

final class BulkReceiver: TLSBenchHandler {
    let total: Int
    var received = 0

    init(loop: EventLoop, socket: Socket, context: TLSContext, total: Int, result: BenchResult) {
        self.total = total
        let tls = try! TLSConnection(context: context, fd: socket.descriptor!)
        super.init(loop: loop, socket: socket, tls: tls, result: result)
    }

    override func step() {
        guard handshakeStep() else { return }
        result.started()
        guard let slot = loop.bufferPool.take() else { return loop.waitForBuffers(self) }
        defer { loop.bufferPool.release(slot) }
        let buffer = UnsafeMutableRawBufferPointer(start: loop.bufferPool.payload(slot), count: loop.bufferPool.payloadCapacity)
        while received < total {
            do {
                switch try tls.read(into: buffer) {
                case .done(let n): received += n
                case .wantRead, .wantWrite: return
                case .closed: return fail("sender closed after \(received) of \(total) bytes")
                }
            } catch {
                return fail("\(error)")
            }
        }
        result.finished()
        loop.handle.stop()
    }
}

extension BulkReceiver: BufferWaiter {
    func buffersAvailable() { step() }
}
