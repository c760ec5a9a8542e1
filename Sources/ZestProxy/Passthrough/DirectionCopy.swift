import ZestReactor

/// One direction of a relayed connection, copied the way its `CopyMode` says:
///
/// - `.buffered`: always `BufferedCopy` (read/`send` through the worker's pool).
/// - `.splice`: always `SplicedCopy` (`splice(2)` through a kernel pipe).
/// - `.adaptive`: `BufferedCopy` until the direction has carried `adaptiveThreshold` bytes, then
///   `SplicedCopy` for the rest. The switch happens only between passes with nothing held in
///   the buffer and no end of stream seen, so no byte is reordered. Short-lived connections never
///   open a pipe (no extra descriptors); bulk ones stop copying through user space. If the pipe
///   cannot be opened (descriptor limit), the direction stays buffered.
struct DirectionCopy {
    /// Bytes a direction carries buffered before `.adaptive` moves it to splice.
    static let adaptiveThreshold: UInt64 = 1 << 20
    /// Pipe size `.adaptive` asks for when none is configured (`F_SETPIPE_SZ`; the kernel keeps
    /// its default when the per-user pipe budget is spent).
    static let adaptivePipeCapacity: Int32 = 1 << 20

    private let mode: CopyMode
    private let pipeCapacity: Int32?
    private var buffered = BufferedCopy()
    /// Set from the start in `.splice` mode, after the switch in `.adaptive` mode.
    private var spliced: SplicedCopy?

    init(mode: CopyMode, pipeCapacity: Int32?) {
        self.mode = mode
        switch mode {
        case .buffered:
            self.pipeCapacity = nil
        case .splice:
            self.pipeCapacity = pipeCapacity
            spliced = SplicedCopy()
        case .adaptive:
            self.pipeCapacity = pipeCapacity ?? DirectionCopy.adaptivePipeCapacity
        }
    }

    /// Bytes written to the destination.
    var bytes: UInt64 { buffered.bytes &+ (spliced?.bytes ?? 0) }

    /// Whether the direction copies with `splice(2)` now.
    var isSpliced: Bool { spliced != nil }

    /// Whether end of stream was passed on as FIN.
    var isFinished: Bool { spliced?.isFinished ?? buffered.isFinished }

    /// Moves bytes until the source has none, the destination is full, or the pool is empty
    /// (see `BufferedCopy.pump` and `SplicedCopy.pump`).
    mutating func pump(from source: Socket, to destination: Socket, pool: BufferPool,
                       trustShortRead: Bool) -> CopyProgress {
        if mode == .adaptive && spliced == nil && buffered.bytes >= DirectionCopy.adaptiveThreshold
            && buffered.isEmpty, let pipe = try? KernelPipe(capacity: pipeCapacity) {
            spliced = SplicedCopy(pipe: pipe)
        }
        if spliced != nil {
            return spliced!.pump(from: source, to: destination, pipeCapacity: pipeCapacity)
        }
        return buffered.pump(from: source, to: destination, pool: pool, trustShortRead: trustShortRead)
    }

    /// Gives back the pool buffer and closes the pipe (on completion, reset or stop).
    mutating func release(_ pool: BufferPool) {
        buffered.releaseSlot(pool)
        spliced?.close()
    }
}
