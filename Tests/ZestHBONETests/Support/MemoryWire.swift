import ZestHBONE

/// A byte sink that collects what a connection writes, optionally refusing writes past a
/// capacity (a peer that does not read).
final class CollectingSink: HBONEByteSink {
    var bytes: [UInt8] = []
    var capacity = Int.max
    var writes = 0

    func write(_ b: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + b.count <= capacity else { return false }
        bytes.append(contentsOf: b)
        writes += 1
        return true
    }

    func take() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }
}

/// A client connection wired to a server connection in memory: `pump` moves bytes both ways
/// until neither side has anything more to say.
final class MemoryWire {
    let clientSink = CollectingSink()
    let serverSink = CollectingSink()
    var client: HBONEConnection!
    var server: HBONEConnection!
    /// Bytes moved in each direction so far.
    var toServer = 0, toClient = 0

    init(delegate: HBONEServerDelegate, client clientSettings: HBONESettings = .client,
         server serverSettings: HBONESettings = .server, clock: ManualClock? = nil) throws {
        let now: () -> ContinuousClock.Instant = clock.map { c in { c.now } } ?? { .now }
        client = try HBONEConnection.client(sink: clientSink, settings: clientSettings, clock: now)
        server = try HBONEConnection.server(sink: serverSink, delegate: delegate, settings: serverSettings, clock: now)
    }

    /// Moves bytes until both sinks stay empty; bounded so a livelock fails instead of hanging.
    @discardableResult
    func pump(rounds: Int = 100_000, toServerOpen: Bool = true, toClientOpen: Bool = true) -> Bool {
        for _ in 0..<rounds {
            var moved = false
            if toServerOpen, !clientSink.bytes.isEmpty {
                let b = clientSink.take(); toServer += b.count
                b.withUnsafeBytes { server.receive($0) }
                moved = true
                if clientSink.capacity != Int.max { client.sinkDidDrain() }
            }
            if toClientOpen, !serverSink.bytes.isEmpty {
                let b = serverSink.take(); toClient += b.count
                b.withUnsafeBytes { client.receive($0) }
                moved = true
                if serverSink.capacity != Int.max { server.sinkDidDrain() }
            }
            if !moved { return true }
        }
        return false
    }
}

/// Time the tests move by hand.
final class ManualClock {
    var now = ContinuousClock.now
    func advance(_ d: Duration) { now += d }
}
