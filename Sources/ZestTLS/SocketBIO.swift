internal import COpenSSL
import Glibc

/// An OpenSSL BIO over a nonblocking socket that writes with `send(MSG_NOSIGNAL)`, so a peer
/// that has gone away gives `EPIPE` instead of a process-killing SIGPIPE (OpenSSL's own socket
/// BIO uses plain `write`, and OpenSSL writes a fatal alert after errors such as an unexpected
/// EOF). It does not own the descriptor. Reads and writes go straight between the kernel and
/// OpenSSL's record buffers, as `SSL_set_fd` would.
enum SocketBIO {
    /// Per-BIO state, reached through `BIO_get_data`.
    struct State {
        var fd: Int32
        /// Edge-triggered driving (`TLSConnection.skipsReadsWhenDrained`): after a short read
        /// the socket had nothing more, and until the driver reports it readable again a read
        /// answers "retry" without asking the kernel.
        var skipsReadsWhenDrained = false
        var drained = false
    }

    /// The method table (`BIO_meth_new`), made once per process.
    private static let method = MethodBox()

    /// Creates a BIO for `fd` (`BIO_new` + `BIO_set_data`); free it with `free(_:)` after `SSL_free`.
    static func make(fd: Int32) -> (bio: OpaquePointer, state: UnsafeMutablePointer<State>)? {
        guard let m = method.pointer, let bio = BIO_new(m) else { return nil }
        let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
        state.initialize(to: State(fd: fd))
        BIO_set_data(bio, state)
        BIO_set_init(bio, 1)
        return (bio, state)
    }

    private final class MethodBox: @unchecked Sendable {
        // Written once in init, then only read: safe to share.
        let pointer: OpaquePointer?
        init() {
            let m = BIO_meth_new(Int32(BIO_get_new_index()) | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "zest nosignal socket")
            if let m {
                BIO_meth_set_write(m, socketWrite)
                BIO_meth_set_read(m, socketRead)
                BIO_meth_set_ctrl(m, socketCtrl)
            }
            pointer = m
        }
    }
}

private func state(_ bio: OpaquePointer?) -> UnsafeMutablePointer<SocketBIO.State>? {
    guard let bio, let raw = BIO_get_data(bio) else { return nil }
    return raw.assumingMemoryBound(to: SocketBIO.State.self)
}

/// `send(2)` with `MSG_NOSIGNAL`; EAGAIN becomes OpenSSL's "retry write".
private let socketWrite: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { bio, data, count in
    guard let s = state(bio), let data else { return -1 }
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    while true {
        let n = send(s.pointee.fd, data, Int(count), Int32(MSG_NOSIGNAL))
        if n >= 0 { return Int32(n) }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { BIO_set_flags(bio, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY) }
        return -1
    }
}

/// `read(2)`; EAGAIN (or a socket known drained, see `State`) becomes "retry read"; end of stream returns 0 with errno cleared, which
/// OpenSSL reports as SSL_ERROR_SYSCALL with errno 0 (C-INTEROP §4.1: that is EOF).
private let socketRead: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = { bio, data, count in
    guard let s = state(bio), let data else { return -1 }
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    if s.pointee.drained {
        BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY)
        return -1
    }
    while true {
        let n = read(s.pointee.fd, data, Int(count))
        if n > 0 {
            if s.pointee.skipsReadsWhenDrained && n < Int(count) { s.pointee.drained = true }
            return Int32(n)
        }
        if n == 0 { errno = 0; return 0 }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY) }
        return -1
    }
}

/// Only flush (nothing buffered: 1) and duplicate/push/pop (accepted) are meaningful here.
private let socketCtrl: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = { _, cmd, _, _ in
    switch cmd {
    case BIO_CTRL_FLUSH, BIO_CTRL_DUP, BIO_CTRL_PUSH, BIO_CTRL_POP: return 1
    default: return 0
    }
}
