import Glibc
import ZestCore

/// Blocking use of a `Socket`, for clients outside any loop: command-line tools, the demo's
/// load generator, tests. Not for the data path.
extension Socket {
    /// Connects to `address`, waiting at most `timeout` (`connect(2)` then `poll(2)`), and
    /// returns the socket switched to blocking mode.
    public static func connectBlocking(to address: SocketAddress, timeout: Duration = .seconds(5)) throws(SyscallError) -> Socket {
        let (socket, result) = try Socket.connect(to: address)
        if case .wouldBlock = result {
            var pfd = pollfd(fd: socket.fd, events: Int16(POLLOUT), revents: 0)
            let ms = Int32(MonotonicClock.nanoseconds(timeout) / 1_000_000)
            let ready = try checkedSyscall("poll") { poll(&pfd, 1, ms) }
            if ready == 0 { throw SyscallError("connect", errno: ETIMEDOUT) }
            try socket.finishConnect()
        }
        try socket.setBlocking(true)
        return socket
    }

    /// Switches `O_NONBLOCK` off (`true`) or on (`false`) with `fcntl(2)`.
    public func setBlocking(_ blocking: Bool) throws(SyscallError) {
        let fd = self.fd
        let flags = try checkedSyscall("fcntl") { fcntl(fd, F_GETFL) }
        let new = blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK
        try checkedSyscall("fcntl") { fcntl(fd, F_SETFL, new) }
    }

    /// Bounds how long a blocking read waits (`SO_RCVTIMEO`); a read that times out
    /// returns `.wouldBlock`.
    public func setReceiveTimeout(_ timeout: Duration) throws(SyscallError) {
        let ns = MonotonicClock.nanoseconds(timeout)
        let tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000 / 1000))
        try Posix.setOption(fd, SOL_SOCKET, SO_RCVTIMEO, tv)
    }

    /// Writes all `count` bytes on a blocking socket, looping over short writes.
    public func writeAll(_ buffer: UnsafeRawPointer, count: Int) throws(SyscallError) {
        var done = 0
        while done < count {
            switch try write(from: buffer + done, count: count - done) {
            case .processed(let n): done += n
            case .wouldBlock: throw SyscallError("send", errno: EAGAIN)
            }
        }
    }
}

extension ListeningSocket {
    /// Waits up to `timeout` for one connection (`poll(2)` then `accept4(2)`); throws `ETIMEDOUT`
    /// when none came. For tools and tests; loops use `Acceptor`.
    public func accept(timeout: Duration) throws(SyscallError) -> Socket {
        let deadline = MonotonicClock.now() + MonotonicClock.nanoseconds(timeout)
        while true {
            if case .processed(let socket) = try accept() { return socket }
            let now = MonotonicClock.now()
            guard now < deadline else { throw SyscallError("accept4", errno: ETIMEDOUT) }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(min((deadline - now) / 1_000_000 + 1, 60_000))
            _ = try checkedSyscall("poll") { poll(&pfd, 1, ms) }
        }
    }
}
