import CZestShims
import Glibc

/// Thin wrappers over the socket, epoll, eventfd, pipe and splice calls the reactor makes.
/// Each retries `EINTR`, returns `EAGAIN` as `.wouldBlock` where the call may block, and throws
/// `SyscallError` naming the C function otherwise.
enum Posix {
    static let streamNonblocking = Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)

    /// `socket(2)`: a nonblocking, close-on-exec TCP socket.
    static func tcpSocket(family: Int32) throws(SyscallError) -> Int32 {
        try checkedSyscall("socket") { Glibc.socket(family, streamNonblocking, Int32(IPPROTO_TCP)) }
    }

    /// `close(2)`. Never retried: on Linux the descriptor is gone even when `EINTR` is reported.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// `read(2)` into `buffer`; `.processed(0)` is end of stream.
    @inline(__always)
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(SyscallError) -> IOResult<Int> {
        try retryingSyscall("read") { Glibc.read(fd, buffer, count) }
    }

    /// `write(2)` from `buffer`.
    @inline(__always)
    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) throws(SyscallError) -> IOResult<Int> {
        try retryingSyscall("write") { Glibc.write(fd, buffer, count) }
    }

    /// `send(2)` with `MSG_NOSIGNAL`, so a closed peer gives `EPIPE` instead of killing the process.
    @inline(__always)
    static func send(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) throws(SyscallError) -> IOResult<Int> {
        try retryingSyscall("send") { Glibc.send(fd, buffer, count, Int32(MSG_NOSIGNAL)) }
    }

    /// `shutdown(2)`.
    static func shutdown(_ fd: Int32, _ how: Int32) throws(SyscallError) {
        try checkedSyscall("shutdown") { Glibc.shutdown(fd, how) }
    }

    /// `setsockopt(2)` with a value of type `T`.
    static func setOption<T>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: T) throws(SyscallError) {
        var v = value
        try checkedSyscall("setsockopt") { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<T>.size)) }
    }

    /// `getsockopt(2)` for an `Int32`-valued option.
    static func getIntOption(_ fd: Int32, _ level: Int32, _ name: Int32) throws(SyscallError) -> Int32 {
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        try checkedSyscall("getsockopt") { getsockopt(fd, level, name, &v, &len) }
        return v
    }

    /// `bind(2)`.
    static func bind(_ fd: Int32, _ sa: UnsafePointer<sockaddr>, _ len: socklen_t) throws(SyscallError) {
        try checkedSyscall("bind") { Glibc.bind(fd, sa, len) }
    }

    /// `listen(2)`.
    static func listen(_ fd: Int32, backlog: Int32) throws(SyscallError) {
        try checkedSyscall("listen") { Glibc.listen(fd, backlog) }
    }

    /// `connect(2)` on a nonblocking socket: `.wouldBlock` means `EINPROGRESS` (finish on writable).
    static func connect(_ fd: Int32, _ sa: UnsafePointer<sockaddr>, _ len: socklen_t) throws(SyscallError) -> IOResult<Void> {
        while true {
            if Glibc.connect(fd, sa, len) == 0 { return .processed(()) }
            let err = Glibc.errno
            if err == EINTR { continue }
            if err == EINPROGRESS || err == EAGAIN { return .wouldBlock }
            throw SyscallError("connect", errno: err)
        }
    }

    /// `accept4(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC`; fills `peer`.
    static func accept(_ fd: Int32, peer: inout sockaddr_storage) throws(SyscallError) -> IOResult<Int32> {
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let flags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        return try withUnsafeMutablePointer(to: &peer) { p throws(SyscallError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(SyscallError) in
                try retryingSyscall("accept4") { zest_accept4(fd, sa, &len, flags) }
            }
        }
    }

    /// `getsockname(2)` (local) or `getpeername(2)` (peer) as raw storage.
    static func address(_ fd: Int32, peer: Bool) throws(SyscallError) -> sockaddr_storage {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try withUnsafeMutablePointer(to: &storage) { p throws(SyscallError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(SyscallError) in
                if peer {
                    try checkedSyscall("getpeername") { getpeername(fd, sa, &len) }
                } else {
                    try checkedSyscall("getsockname") { getsockname(fd, sa, &len) }
                }
            }
        }
        return storage
    }

    /// `pipe2(2)` with `O_NONBLOCK | O_CLOEXEC`: (read end, write end).
    static func pipe() throws(SyscallError) -> (Int32, Int32) {
        var fds: (Int32, Int32) = (-1, -1)
        try withUnsafeMutableBytes(of: &fds) { raw throws(SyscallError) in
            let p = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
            try checkedSyscall("pipe2") { zest_pipe2(p, O_NONBLOCK | O_CLOEXEC) }
        }
        return fds
    }

    /// `splice(2)` between a socket and a pipe, nonblocking, moving pages where it can.
    @inline(__always)
    static func splice(from: Int32, to: Int32, count: Int, more: Bool) throws(SyscallError) -> IOResult<Int> {
        var flags = zest_const_SPLICE_F_MOVE() | zest_const_SPLICE_F_NONBLOCK()
        if more { flags |= zest_const_SPLICE_F_MORE() }
        return try retryingSyscall("splice") { zest_splice(from, to, count, flags) }
    }
}
