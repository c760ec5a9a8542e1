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
