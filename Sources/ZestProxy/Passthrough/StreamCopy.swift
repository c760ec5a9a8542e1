import ZestReactor

/// What one pass of a copy direction ended with.
enum CopyProgress {
    /// The source is drained for now (`read` said `.wouldBlock`); no buffer held.
    case idle
    /// The destination is full; the direction holds its bytes and waits for a writable edge.
    case blocked
    /// The buffer pool is empty; the direction stopped reading until slots come back.
    case starved
    /// End of stream was read and passed on as FIN (`shutdown(SHUT_WR)`).
    case finished
    /// A read or write failed: the connection was reset (or broke); reset the other side too.
    case failed(SyscallError)
}

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
    private(set) var sawEndOfStream = false
    private(set) var sentFIN = false
    /// Bytes written to the destination.
    private(set) var bytes: UInt64 = 0

    var isFinished: Bool { sentFIN }

    /// Moves bytes until the source has none, the destination is full, or the pool is empty.
    mutating func pump(from source: Socket, to destination: Socket, pool: BufferPool) -> CopyProgress {
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
                case .processed(let n):
                    start = 0
                    end = n
                case .wouldBlock:
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

/// One direction of a copy between two plain sockets through a kernel pipe with `splice(2)`:
/// no user-space copy and no pool buffer. The pipe is opened on first data and is the
/// direction's only buffer, so back-pressure works the same way as in `BufferedCopy`.
struct SplicedCopy {
    private var pipe: KernelPipe?
    private(set) var sawEndOfStream = false
    private(set) var sentFIN = false
    private(set) var bytes: UInt64 = 0
    static let chunk = 1 << 20

    var isFinished: Bool { sentFIN }

    mutating func pump(from source: Socket, to destination: Socket, pipeCapacity: Int32?) -> CopyProgress {
        do {
            while true {
                if let p = pipe, p.buffered > 0 {
                    switch try p.drain(to: destination) {
                    case .processed(let n):
                        bytes &+= UInt64(n)
                        continue
                    case .wouldBlock:
                        return .blocked
                    }
                }
                if sawEndOfStream {
                    pipe?.close()
                    pipe = nil
                    if !sentFIN {
                        sentFIN = true
                        try destination.shutdownWrite()
                    }
                    return .finished
                }
                if pipe == nil { pipe = try KernelPipe(capacity: pipeCapacity) }
                switch try pipe!.fill(from: source, count: SplicedCopy.chunk) {
                case .processed(0):
                    sawEndOfStream = true
                case .processed:
                    continue
                case .wouldBlock:
                    return .idle
                }
            }
        } catch {
            close()
            return .failed(error)
        }
    }

    mutating func close() {
        pipe?.close()
        pipe = nil
    }
}
