import ArgumentParser
import Glibc
import ZestCore
import ZestProxy
import ZestReactor

struct RelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Relay plain TCP: accept on --listen, connect to --to, copy both ways.",
        discussion: """
        Each worker thread runs its own epoll loop with its own SO_REUSEPORT listener; half-close
        and resets pass through. Stops on SIGINT or SIGTERM and prints what it moved.
        Example: zest relay --listen 127.0.0.1:8080 --to 10.0.0.5:80 --workers 2
        """
    )

    @Option(help: "Address to accept on, IPv4:port or [IPv6]:port (port 0 picks a free port).")
    var listen: String

    @Option(help: "Address to connect each accepted connection to.")
    var to: String

    @Option(help: "Worker threads (default: the CPU limit of this cgroup, else online CPUs).")
    var workers: Int?

    @Option(help: "Copy mode: buffered (read/write through the buffer pool), splice, or adaptive (buffered, then splice once a direction has moved 1 MiB).")
    var copyMode: String = CopyMode.defaultMode.rawValue

    @Option(help: "Milliseconds an upstream connect may take before the client is reset.")
    var connectTimeoutMs: Int = 5000

    @Option(help: "Milliseconds without traffic after which a connection is reset (default: never).")
    var idleTimeoutMs: Int?

    @Option(help: "Buffered copy: read size in TLS records (16 KiB each, minus a 9-byte HTTP/2 header).")
    var bufferRecords: Int = 8

    @Option(help: "Buffered copy: buffer slots per worker (memory bound: slots x slot size).")
    var bufferSlots: Int = BufferPoolConfiguration.default.slotCount

    @Option(help: "Splice and adaptive copy: pipe size in bytes (F_SETPIPE_SZ; default 65536 for splice, 1048576 for adaptive).")
    var pipeCapacity: Int32?

    func validate() throws {
        guard SocketAddress(listen) != nil else { throw ValidationError("--listen '\(listen)' is not IPv4:port or [IPv6]:port") }
        guard SocketAddress(to) != nil else { throw ValidationError("--to '\(to)' is not IPv4:port or [IPv6]:port") }
        if let workers, !(1...1024).contains(workers) { throw ValidationError("--workers must be between 1 and 1024") }
        guard CopyMode(rawValue: copyMode) != nil else { throw ValidationError("--copy-mode must be buffered, splice or adaptive") }
        guard connectTimeoutMs > 0 else { throw ValidationError("--connect-timeout-ms must be positive") }
        if let idleTimeoutMs, idleTimeoutMs <= 0 { throw ValidationError("--idle-timeout-ms must be positive") }
        guard (1...64).contains(bufferRecords) else { throw ValidationError("--buffer-records must be between 1 and 64") }
        guard (1...1_000_000).contains(bufferSlots) else { throw ValidationError("--buffer-slots must be between 1 and 1000000") }
        if let pipeCapacity, !(4096...(64 << 20)).contains(pipeCapacity) {
            throw ValidationError("--pipe-capacity must be between 4096 and 67108864 bytes")
        }
    }

    func run() throws {
        let signals = SignalWaiter(blocking: [SIGINT, SIGTERM])
        let config = RelayConfiguration(listen: SocketAddress(listen)!, upstream: SocketAddress(to)!, workers: workers,
                                        connectTimeout: .milliseconds(connectTimeoutMs),
                                        idleTimeout: idleTimeoutMs.map { .milliseconds($0) },
                                        copyMode: CopyMode(rawValue: copyMode)!,
                                        bufferPool: BufferPoolConfiguration(
                                            slotCount: bufferSlots,
                                            payloadCapacity: BufferPoolConfiguration.payloadFillingTLSRecords(bufferRecords)),
                                        pipeCapacity: pipeCapacity)
        let relay: PassthroughRelay
        do {
            relay = try PassthroughRelay(config)
        } catch {
            throw ValidationError("cannot listen on \(listen): \(error)")
        }
        Console.out("zest relay: listening on \(relay.listenAddress), relaying to \(config.upstream), \(relay.configuration.workers ?? CPUCount.defaultWorkerCount()) worker(s), \(config.copyMode.rawValue) copy")
        let signal = signals.wait()
        relay.shutdown()
        let s = relay.stats()
        Console.out("zest relay: stopped by signal \(signal); \(s.accepted) accepted, \(s.completed) completed, \(s.reset) reset, \(s.connectFailures) connect failures, \(s.bytesToUpstream) bytes to upstream, \(s.bytesToClient) bytes to clients")
    }
}

/// Blocks the given signals in every thread started after it (workers inherit the mask) and
/// waits for one of them with `sigwait`.
struct SignalWaiter {
    private var set = sigset_t()

    init(blocking signals: [Int32]) {
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    func wait() -> Int32 {
        var set = self.set
        var signal: Int32 = 0
        sigwait(&set, &signal)
        return signal
    }
}

/// Line output on stdout through `write(2)`, flushed at once (the stdio globals are not
/// usable under Swift 6 concurrency checking).
enum Console {
    static func out(_ line: String) {
        var text = line
        text += "\n"
        text.withUTF8 { p in
            var off = 0
            while off < p.count {
                let n = write(1, p.baseAddress! + off, p.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }
}
