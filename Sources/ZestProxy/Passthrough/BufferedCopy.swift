import ZestReactor

/// One direction of a byte stream copy, `source → destination`, through pool buffers.
///
/// A slot is taken only when there is something to read and given back as soon as every byte
/// read into it has been written: an idle direction holds no memory. A short write keeps the
/// slot and stops reading (back-pressure: the source's kernel buffer fills, then TCP flow
/// control slows the sender); the next writable edge on the destination resumes it.
struct BufferedCopy {
    private var slot: BufferPool.Slot?
    private var start = 0
    private var end = 0
    private var drained = false
    private(set) var sawEndOfStream = false
    private(set) var sentFIN = false
    /// Bytes written to the destination.
    private(set) var bytes: UInt64 = 0

    var isFinished: Bool { sentFIN }

    /// Holds no buffer and has not seen end of stream: the direction may change how it copies.
    var isEmpty: Bool { slot == nil && !sawEndOfStream }

    /// Moves bytes until the source has none, the destination is full, or the pool is empty.
    /// `trustShortRead`: a read that returns less than asked means the source is drained (see
    /// `DirectionGate`); when false, reads go on until EAGAIN or end of stream.
    mutating func pump(from source: Socket, to destination: Socket, pool: BufferPool,
                       trustShortRead: Bool = false) -> CopyProgress {
        do {
            while true {
                if let s = slot, start < end {
                    switch try destination.write(from: pool.payload(s) + start, count: end - start) {
                    case .processed(let n):
                        start += n
                        bytes &+= UInt64(n)
                        continue
                    case .wouldBlock:
                        return .blocked
                    }
                }
                if drained && trustShortRead {
                    // The last read came back short: the socket had nothing more, and any byte
                    // that arrived since raised a new edge; skip the read that would say EAGAIN.
                    drained = false
                    releaseSlot(pool)
                    return .idle
                }
                if sawEndOfStream {
                    releaseSlot(pool)
                    if !sentFIN {
                        sentFIN = true
                        try destination.shutdownWrite()
                    }
                    return .finished
                }
                if slot == nil {
                    guard let s = pool.take() else { return .starved }
                    slot = s
                }
                switch try source.read(into: pool.payload(slot!), count: pool.payloadCapacity) {
                case .processed(0):
                    sawEndOfStream = true
                    drained = false
                case .processed(let n):
                    start = 0
                    end = n
                    drained = n < pool.payloadCapacity
                case .wouldBlock:
                    drained = false
                    releaseSlot(pool)
                    return .idle
                }
            }
        } catch {
            releaseSlot(pool)
            return .failed(error)
        }
    }

    /// Gives the buffer back (on completion, reset or stop).
    mutating func releaseSlot(_ pool: BufferPool) {
        if let s = slot { pool.release(s) }
        slot = nil
        start = 0
        end = 0
    }
}
