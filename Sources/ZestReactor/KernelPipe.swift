import CZestShims
import Glibc

/// A nonblocking kernel pipe used as the middle of a `splice(2)` copy between two sockets:
/// bytes move socket → pipe → socket as page references, never through user space.
/// Owns both ends and closes them.
public final class KernelPipe {
    private var readEnd: Int32
    private var writeEnd: Int32
    /// Bytes sitting in the pipe.
    public private(set) var buffered = 0

    /// Opens the pipe (`pipe2(O_NONBLOCK | O_CLOEXEC)`); `capacity` resizes it (`F_SETPIPE_SZ`).
    public init(capacity: Int32? = nil) throws(SyscallError) {
        (readEnd, writeEnd) = try Posix.pipe()
        if let capacity { _ = fcntl(writeEnd, zest_const_F_SETPIPE_SZ(), capacity) }
    }

    deinit { close() }

    /// Moves up to `count` bytes from `socket` into the pipe (`splice(2)`).
    /// `.processed(0)` is end of stream on the socket.
    @inline(__always)
    public func fill(from socket: Socket, count: Int) throws(SyscallError) -> IOResult<Int> {
        let r = try Posix.splice(from: socket.fd, to: writeEnd, count: count, more: false)
        if case .processed(let n) = r { buffered += n }
        return r
    }

    /// Moves what the pipe holds into `socket` (`splice(2)`); may move fewer bytes.
    @inline(__always)
    public func drain(to socket: Socket) throws(SyscallError) -> IOResult<Int> {
        let r = try Posix.splice(from: readEnd, to: socket.fd, count: buffered, more: false)
        if case .processed(let n) = r { buffered -= n }
        return r
    }

    /// Closes both ends. Safe to call more than once.
    public func close() {
        if readEnd >= 0 { Posix.close(readEnd); readEnd = -1 }
        if writeEnd >= 0 { Posix.close(writeEnd); writeEnd = -1 }
        buffered = 0
    }
}
