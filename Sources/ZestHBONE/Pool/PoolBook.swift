/// What the client pool needs to know of a pooled connection.
protocol PoolMember: AnyObject {
    /// One more tunnel fits (stream limits, no GOAWAY).
    var hasCapacity: Bool { get }
    /// No tunnel is open on it.
    var isIdle: Bool { get }
}

/// The client pool's bookkeeping as a pure state machine (no sockets, time passed in), so the
/// rules are tested as a table: per key, use a connection with room; else one dial at a time
/// while later callers wait; connections unused for the idle timeout are released; a
/// connection that got GOAWAY leaves the pool and finishes its tunnels on its own
/// (ZTUNNEL-REFERENCE.md §3.6).
struct PoolBook<Key: Hashable, Member: PoolMember, Waiter> {
    enum Checkout {
        /// Open the tunnel on this connection now.
        case use(Member)
        /// Dial a new connection for the key; the caller is queued and served by `dialSucceeded`.
        case dial
        /// A dial for the key is in flight; the caller is queued.
        case wait
    }

    private(set) var members: [Key: [Member]] = [:]
    private var lastUsed: [ObjectIdentifier: ContinuousClock.Instant] = [:]
    private(set) var dialing: Set<Key> = []
    private var waiters: [Key: [Waiter]] = [:]
    let idleTimeout: Duration

    init(idleTimeout: Duration = .seconds(300)) {
        self.idleTimeout = idleTimeout
    }

    mutating func checkout(_ key: Key, _ waiter: Waiter, now: ContinuousClock.Instant) -> Checkout {
        if let m = members[key]?.first(where: { $0.hasCapacity }) {
            lastUsed[ObjectIdentifier(m)] = now
            return .use(m)
        }
        waiters[key, default: []].append(waiter)
        if dialing.contains(key) { return .wait }
        dialing.insert(key)
        return .dial
    }

    /// The dial for `key` produced `member`; returns the queued callers, who check out again.
    mutating func dialSucceeded(_ key: Key, _ member: Member, now: ContinuousClock.Instant) -> [Waiter] {
        dialing.remove(key)
        members[key, default: []].append(member)
        lastUsed[ObjectIdentifier(member)] = now
        return waiters.removeValue(forKey: key) ?? []
    }

    /// The dial for `key` failed; returns the queued callers, who fail with it.
    mutating func dialFailed(_ key: Key) -> [Waiter] {
        dialing.remove(key)
        return waiters.removeValue(forKey: key) ?? []
    }

    /// The connection closed or got GOAWAY: no new tunnels go to it.
    mutating func remove(_ member: Member) {
        for (k, list) in members where list.contains(where: { $0 === member }) {
            let rest = list.filter { $0 !== member }
            members[k] = rest.isEmpty ? nil : rest
        }
        lastUsed.removeValue(forKey: ObjectIdentifier(member))
    }

    /// Removes and returns connections with no tunnel that nobody checked out for `idleTimeout`.
    mutating func expireIdle(now: ContinuousClock.Instant) -> [Member] {
        var expired: [Member] = []
        for list in members.values {
            for m in list where m.isIdle {
                if let t = lastUsed[ObjectIdentifier(m)], now - t >= idleTimeout { expired.append(m) }
            }
        }
        for m in expired { remove(m) }
        return expired
    }

    var memberCount: Int { members.values.reduce(0) { $0 + $1.count } }
}
