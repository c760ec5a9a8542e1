import ArgumentParser
import Glibc
import ZestCore
import ZestProxy
import ZestReactor

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-relay",
        abstract: "Run Zest's data path on loopback and print what happened.",
        discussion: """
        Starts an echo backend and a plain TCP relay in front of it on 127.0.0.1, pushes data
        through the relay and back, checks every byte, and prints bytes, throughput and the
        relay's buffer-pool figures. Exits 0 when every byte came back intact.
        """
    )

    @Option(help: "MiB to send through the relay (each comes back, so twice this crosses it).")
    var mebibytes: Int = 64

    @Option(help: "Relay worker threads.")
    var workers: Int = 1

    func validate() throws {
        guard (1...65536).contains(mebibytes) else { throw ValidationError("--mebibytes must be 1...65536") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be 1...64") }
    }

    func run() throws {
        let loopback = SocketAddress(ip: .loopbackV4, port: 0)
        let echo = try EchoServer(listen: loopback)
        defer { echo.shutdown() }
        let relay = try PassthroughRelay(RelayConfiguration(listen: loopback, upstream: echo.listenAddress, workers: workers))
        Console.out("zest demo: echo backend on \(echo.listenAddress), relay on \(relay.listenAddress) -> backend (\(workers) worker(s), \(relay.configuration.copyMode.rawValue) copy)")

        let total = mebibytes << 20
        let pattern = DemoPattern(size: 1 << 20)
        let client = try Socket.connectBlocking(to: relay.listenAddress)
        try client.setReceiveTimeout(.seconds(10))
        let start = MonotonicClock.now()
        let writer = DemoWriter(client: client, pattern: pattern, total: total)
        writer.start()
        let received = try pattern.readAndVerify(from: client, total: total)
        let writeError = writer.finish()
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        client.close()
        if let writeError { throw ValidationError("sending failed: \(writeError)") }
        guard received == total else {
            throw ValidationError("only \(received) of \(total) bytes came back through the relay")
        }
        _ = waitForRelayIdle(relay)
        relay.shutdown()
        let s = relay.stats()
        let gbits = Double(2 * total) * 8 / seconds / 1e9
        Console.out("zest demo: sent \(total) bytes through the relay and received all \(received) back, byte-for-byte identical")
        Console.out("zest demo: \(format(seconds, 3)) s, \(format(gbits, 2)) Gbit/s through the relay (both directions)")
        Console.out("zest demo: relay moved \(s.bytesToUpstream) bytes to upstream, \(s.bytesToClient) to the client; \(s.accepted) connection(s), \(s.completed) completed, \(s.reset) reset")
        Console.out("zest demo: buffer pool: \(s.pool.slotCount) slots of \(s.pool.slotSize) bytes, high-water \(s.pool.highWater), in use now \(s.pool.inUse), exhaustion events \(s.pool.exhaustionEvents)")
    }

    private func waitForRelayIdle(_ relay: PassthroughRelay) -> Bool {
        let deadline = MonotonicClock.now() + 5_000_000_000
        while MonotonicClock.now() < deadline {
            if relay.stats().active == 0 { return true }
            usleep(5000)
        }
        return false
    }
}

func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int(scaled / scale)
    let frac = Int(abs(scaled.truncatingRemainder(dividingBy: scale)))
    guard decimals > 0 else { return "\(whole)" }
    let f = String(frac)
    return "\(whole)." + String(repeating: "0", count: max(0, decimals - f.count)) + f
}
