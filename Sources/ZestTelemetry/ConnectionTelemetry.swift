/// Everything a proxy records about one connection: its Istio counters (advanced as bytes
/// move), its own byte totals and start time, and the access-log line at the end. Owned by
/// the worker that owns the connection, like the `TrafficShard` it came from.
public struct ConnectionTelemetry {
    public let counters: ConnectionCounters
    /// Client→server bytes so far.
    public private(set) var bytesReceived: UInt64 = 0
    /// Server→client bytes so far.
    public private(set) var bytesSent: UInt64 = 0
    public let openedAt: ContinuousClock.Instant

    /// Resolves the labels on `shard` and counts the connection as opened.
    public init(shard: TrafficShard, labels: TrafficLabels, now: ContinuousClock.Instant = .now) {
        counters = shard.connection(labels)
        openedAt = now
        counters.opened()
    }

    /// Bytes moved client→server: counted in `istio_tcp_received_bytes_total` at once.
    public mutating func received(_ n: Int) {
        bytesReceived &+= UInt64(n)
        counters.received(n)
    }

    /// Bytes moved server→client: counted in `istio_tcp_sent_bytes_total` at once.
    public mutating func sent(_ n: Int) {
        bytesSent &+= UInt64(n)
        counters.sent(n)
    }

    /// Counts the close and writes the access-log line, filling in bytes and duration.
    /// `bytes_sent` is what went back to the client, `bytes_recv` what came from it.
    public func close(_ log: AccessLog, _ entry: AccessLogEntry, now: ContinuousClock.Instant = .now) {
        counters.closed()
        var e = entry
        e.bytesSent = bytesSent
        e.bytesReceived = bytesReceived
        e.duration = openedAt.duration(to: now)
        log.record(e)
    }
}
