import ZestReactor

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

    /// Opens the pipe on first data.
    init() {}

    /// Uses `pipe`, already open (empty).
    init(pipe: KernelPipe) {
        self.pipe = pipe
    }

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
