import Synchronization

/// Istio's four TCP traffic counters, counted per worker without locks and summed on scrape.
///
/// Each worker thread makes its own `TrafficShard` and, once per connection, resolves the
/// connection's label set to a slot with `TrafficShard.connection(_:)`. From then on every
/// count is a relaxed load and store on an atomic that only that worker writes, so the data
/// path never takes a lock or contends on a cache line. A scrape reads every slot of every
/// shard and sums slots with equal labels. The only lock is taken when a worker sees a label
/// set for the first time (to publish the new slot to the scraper).
public final class TrafficMetrics: Sendable {
    private let published = Mutex<[TrafficSlot]>([])

    public init() {}

    /// Makes the counting shard of one worker. Call it on that worker's thread: the shard is
    /// confined to it (it is not `Sendable`).
    public func makeShard() -> TrafficShard {
        TrafficShard(metrics: self)
    }

    func publish(_ slot: TrafficSlot) {
        published.withLock { $0.append(slot) }
    }

    /// Current totals per label set, summed over all workers.
    public func totals() -> [TrafficLabels: TrafficTotals] {
        let slots = published.withLock { $0 }
        var sums: [TrafficLabels: TrafficTotals] = [:]
        for slot in slots {
            sums[slot.labels, default: TrafficTotals()].add(slot.read())
        }
        return sums
    }

    /// Connections open now (opened minus closed), per reporter and local workload
    /// (the destination workload for `destination`, the source workload for `source`).
    public func openConnections() -> [OpenConnectionKey: UInt64] {
        var out: [OpenConnectionKey: UInt64] = [:]
        for (labels, t) in totals() where t.opened > t.closed {
            let local = labels.reporter == .destination
                ? (labels.destinationWorkloadNamespace, labels.destinationWorkload)
                : (labels.sourceWorkloadNamespace, labels.sourceWorkload)
            let key = OpenConnectionKey(reporter: labels.reporter, namespace: local.0, workload: local.1)
            out[key, default: 0] += t.opened - t.closed
        }
        return out
    }
}

/// Key of `TrafficMetrics.openConnections()`.
public struct OpenConnectionKey: Hashable, Sendable {
    public let reporter: TrafficLabels.Reporter
    public let namespace: String
    public let workload: String
}

/// Summed values of one label set.
public struct TrafficTotals: Equatable, Sendable {
    public var opened: UInt64 = 0
    public var closed: UInt64 = 0
    public var receivedBytes: UInt64 = 0
    public var sentBytes: UInt64 = 0

    public init() {}

    mutating func add(_ o: TrafficTotals) {
        opened &+= o.opened
        closed &+= o.closed
        receivedBytes &+= o.receivedBytes
        sentBytes &+= o.sentBytes
    }
}

/// One worker's counters for one label set. Written by that worker only, read by scrapes.
final class TrafficSlot: Sendable {
    let labels: TrafficLabels
    let opened = Atomic<UInt64>(0)
    let closed = Atomic<UInt64>(0)
    let received = Atomic<UInt64>(0)
    let sent = Atomic<UInt64>(0)

    init(labels: TrafficLabels) {
        self.labels = labels
    }

    func read() -> TrafficTotals {
        var t = TrafficTotals()
        t.opened = opened.load(ordering: .relaxed)
        t.closed = closed.load(ordering: .relaxed)
        t.receivedBytes = received.load(ordering: .relaxed)
        t.sentBytes = sent.load(ordering: .relaxed)
        return t
    }
}

@inline(__always)
func bumpSingleWriter(_ counter: borrowing Atomic<UInt64>, by n: UInt64) {
    // Only the owning worker writes, so load-then-store is exact and avoids a locked RMW.
    counter.store(counter.load(ordering: .relaxed) &+ n, ordering: .relaxed)
}

/// One worker's view of the traffic counters. Not `Sendable`: it belongs to the thread that made it.
public final class TrafficShard {
    private let metrics: TrafficMetrics
    private var slots: [TrafficLabels: TrafficSlot] = [:]

    init(metrics: TrafficMetrics) {
        self.metrics = metrics
    }

    /// Resolves a label set to this worker's slot (creating it the first time) and returns
    /// the counters a connection updates. Call once per connection.
    public func connection(_ labels: TrafficLabels) -> ConnectionCounters {
        if let slot = slots[labels] { return ConnectionCounters(slot: slot) }
        let slot = TrafficSlot(labels: labels)
        slots[labels] = slot
        metrics.publish(slot)
        return ConnectionCounters(slot: slot)
    }
}

/// The counters of one connection, resolved to its label set. Every call is a relaxed
/// load/store on the owning worker's slot: no lock, no allocation.
public struct ConnectionCounters {
    let slot: TrafficSlot

    /// Counts the connection as opened (`istio_tcp_connections_opened_total`).
    public func opened() {
        bumpSingleWriter(slot.opened, by: 1)
    }

    /// Adds bytes that moved client→server (`istio_tcp_received_bytes_total`). Call as bytes move.
    public func received(_ bytes: Int) {
        bumpSingleWriter(slot.received, by: UInt64(bytes))
    }

    /// Adds bytes that moved server→client (`istio_tcp_sent_bytes_total`). Call as bytes move.
    public func sent(_ bytes: Int) {
        bumpSingleWriter(slot.sent, by: UInt64(bytes))
    }

    /// Counts the connection as closed (`istio_tcp_connections_closed_total`).
    public func closed() {
        bumpSingleWriter(slot.closed, by: 1)
    }
}

extension TrafficMetrics: MetricsCollector {
    public func collect(into writer: inout PrometheusWriter) {
        let rows = totals().map { ($0.key.pairs, $0.value) }.sorted { $0.0.lexicographicallyPrecedes($1.0) { $0.1 < $1.1 } }
        let families: [(String, String, KeyPath<TrafficTotals, UInt64>)] = [
            ("istio_tcp_connections_opened_total", "TCP connections opened, by the connection's Istio labels", \.opened),
            ("istio_tcp_connections_closed_total", "TCP connections closed, by the connection's Istio labels", \.closed),
            ("istio_tcp_received_bytes_total", "Bytes that moved from client to server, counted while the connection is open", \.receivedBytes),
            ("istio_tcp_sent_bytes_total", "Bytes that moved from server to client, counted while the connection is open", \.sentBytes),
        ]
        for (name, help, field) in families {
            writer.family(name, help: help, type: .counter)
            for (labels, t) in rows {
                writer.sample(name, labels: labels, t[keyPath: field])
            }
        }
    }
}
