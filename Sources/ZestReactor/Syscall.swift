import Glibc

/// The outcome of a nonblocking I/O call: it did something, or the kernel said "try later".
/// `EAGAIN`/`EWOULDBLOCK` arrive here as a value, never as an error.
public enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

extension IOResult: Sendable where Value: Sendable {}
extension IOResult: Equatable where Value: Equatable {}

/// A failed system call: which call, and the `errno` it set.
/// Nothing above the wrappers in this module sees a raw `-1` or `errno`.
public struct SyscallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The C function that failed, e.g. `"connect"`.
    public let syscall: StaticStringName
    /// The `errno` value it left behind.
    public let errno: Int32

    public init(_ syscall: StaticString, errno: Int32) {
        self.syscall = StaticStringName(syscall)
        self.errno = errno
    }

    /// The peer reset the connection (`ECONNRESET`, `EPIPE`).
    public var isReset: Bool { errno == ECONNRESET || errno == EPIPE }
    /// The destination refused or could not be reached.
    public var isRefused: Bool { errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH }
    /// The process or system ran out of file descriptors.
    public var isOutOfDescriptors: Bool { errno == EMFILE || errno == ENFILE }

    public var description: String {
        let text = strerror(errno).map { String(cString: $0) } ?? "unknown error"
        var hint = ""
        switch errno {
        case EMFILE, ENFILE: hint = "; raise the open-file limit (ulimit -n / LimitNOFILE)"
        case EADDRINUSE: hint = "; another process already listens on that address"
        case EACCES, EPERM: hint = "; this needs more privilege (root or CAP_NET_ADMIN)"
        case ECONNREFUSED: hint = "; nothing listens at the destination"
        default: break
        }
        return "\(syscall)() failed: \(text) (errno \(errno))\(hint)"
    }
}

/// A syscall name stored without allocating, comparable and printable.
public struct StaticStringName: Equatable, Sendable, CustomStringConvertible {
    private let text: StaticString
    init(_ text: StaticString) { self.text = text }
    public var description: String { text.description }
    public static func == (a: Self, b: Self) -> Bool { a.description == b.description }
}

/// Runs `body` until it does not fail with `EINTR`. `EAGAIN`/`EWOULDBLOCK` become `.wouldBlock`;
/// any other failure throws a `SyscallError` naming `name`.
@inline(__always)
func retryingSyscall<T: FixedWidthInteger>(_ name: StaticString, _ body: () -> T) throws(SyscallError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let err = Glibc.errno
        if err == EINTR { continue }
        if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
        throw SyscallError(name, errno: err)
    }
}

/// Like `retryingSyscall`, for calls on blocking paths where `EAGAIN` is itself an error.
@inline(__always)
@discardableResult
func checkedSyscall<T: FixedWidthInteger>(_ name: StaticString, _ body: () -> T) throws(SyscallError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let err = Glibc.errno
        if err == EINTR { continue }
        throw SyscallError(name, errno: err)
    }
}
