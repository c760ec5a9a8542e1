/// Coalescing: every frame nghttp2 produces in one turn (one `flush`) is gathered in the
/// outbox and handed to the sink in one write, so a turn that makes HEADERS, WINDOW_UPDATE,
/// a SETTINGS ACK and small DATA frames costs one `SSL_write`, one TLS record and one `send(2)`
/// instead of one each. Frames too big to share a TLS record (bulk DATA) skip the outbox and
/// leave in place, straight from the tunnel's buffer, after what the outbox already holds.
extension HBONEConnection {
    /// The most bytes gathered before they are written: one TLS record of plaintext.
    static let outboxLimit = 16_384

    /// Takes `bytes` into the outbox, writing out what it holds first when they would not fit.
    /// False when the sink is full (nothing of `bytes` was taken).
    func stage(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if outbox.count + bytes.count > Self.outboxLimit {
            guard pushOutbox() else { return false }
            if bytes.count > Self.outboxLimit { return writeToSink(bytes) }
        }
        outbox.append(contentsOf: bytes)
        return true
    }

    /// DATA frames up to this size (header included) are always copied into the outbox.
    static let smallFrame = 4096

    /// Takes a DATA frame whose 9-byte `header` and `payload` lie apart. A small frame, or one
    /// that fits behind what the outbox holds, is copied into it (a copy is cheaper than a
    /// write of its own); a bigger one is written in place by `inPlace`, after the outbox went
    /// out, so bulk DATA keeps its zero-copy path. False when the sink is full.
    func stageData(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
                   inPlace: () -> Bool) -> Bool {
        let size = header.count + payload.count
        let fitsBehind = !outbox.isEmpty && outbox.count + size <= Self.outboxLimit
        guard size <= Self.smallFrame || fitsBehind else {
            guard pushOutbox() else { return false }
            return inPlace()
        }
        if outbox.count + size > Self.outboxLimit {
            guard pushOutbox() else { return false }
        }
        outbox.append(contentsOf: header)
        outbox.append(contentsOf: payload)
        counters.framesCoalesced += 1
        return true
    }

    /// Writes the outbox to the sink in one write. False (outbox kept, output blocked) when
    /// the sink is full.
    @discardableResult
    func pushOutbox() -> Bool {
        guard !outbox.isEmpty else { return true }
        let ok = outbox.withUnsafeBytes { writeToSink($0) }
        if ok { outbox.removeAll(keepingCapacity: outbox.capacity <= 2 * Self.outboxLimit) }
        return ok
    }

    /// One sink write, counted; a refusal blocks output until `sinkDidDrain`.
    func writeToSink(_ bytes: UnsafeRawBufferPointer) -> Bool {
        counters.sinkWrites += 1
        if sink.write(bytes) { return true }
        outputBlocked = true
        return false
    }
}
