internal import COpenSSL
import Glibc

/// An OpenSSL BIO over a nonblocking socket that writes with `send(MSG_NOSIGNAL)`, so a peer
/// that has gone away gives `EPIPE` instead of a process-killing SIGPIPE (OpenSSL's own socket
/// BIO uses plain `write`, and OpenSSL writes a fatal alert after errors such as an unexpected
/// EOF). It does not own the descriptor.
///
/// Writes can be coalesced: OpenSSL hands over one TLS record per BIO write; inside an unflushed
/// `TLSConnection.write(from:flush: false)` the BIO appends records to its output buffer
/// (`OutputBuffer`), sending only when the buffer is full or on `TLSConnection.flush()`, so a
/// batch of HTTP/2 frames leaves in one `send(2)`. Otherwise a record is sent at once, straight
/// from OpenSSL's buffer, unless earlier records still wait (then it queues behind them). Reads go straight between the kernel and OpenSSL's record buffer, as `SSL_set_fd` would.
enum SocketBIO {
    /// Per-BIO state, reached through `BIO_get_data`.
    struct State {
        var fd: Int32
        var output: OutputBuffer
        /// Inside an unflushed `TLSConnection.write`: records are buffered, not sent one by one.
        var batching = false
    }

    /// The method table (`BIO_meth_new`), made once per process.
    private static let method = MethodBox()

    /// Creates a BIO for `fd` (`BIO_new` + `BIO_set_data`) that buffers up to `outputCapacity`
    /// encrypted bytes (0: every record is sent at once); free the state with `release(_:)` after `SSL_free`.
    static func make(fd: Int32, outputCapacity: Int) -> (bio: OpaquePointer, state: UnsafeMutablePointer<State>)? {
        guard let m = method.pointer, let bio = BIO_new(m) else { return nil }
        let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
        state.initialize(to: State(fd: fd, output: OutputBuffer(capacity: outputCapacity)))
        BIO_set_data(bio, state)
        BIO_set_init(bio, 1)
        return (bio, state)
    }

    /// Frees the state `make` allocated, with its output buffer.
    static func release(_ state: UnsafeMutablePointer<State>) {
        state.pointee.output.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
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

/// Sends a record, or in a batch appends it to the output buffer (sending the buffer first when
/// the record does not fit). Takes what fits (OpenSSL writes the rest of a record again); when nothing fits because
/// the socket is full, says "retry write", so OpenSSL reports want-write exactly when the
/// bytes were not accepted. A failed send is remembered and returned on every later write.
private let socketWrite: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { bio, data, count in
    guard let s = state(bio), let data else { return -1 }
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    let bytes = UnsafeRawBufferPointer(start: data, count: Int(count))
    let taken = s.pointee.output.append(bytes, fd: s.pointee.fd, direct: !s.pointee.batching)
    switch taken {
    case .taken(let n):
        return Int32(n)
    case .blocked:
        BIO_set_flags(bio, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY)
        return -1
    case .failed(let code):
        errno = code
        return -1
    }
}

/// `read(2)`; EAGAIN becomes "retry read"; end of stream returns 0 with errno cleared, which
/// OpenSSL reports as SSL_ERROR_SYSCALL with errno 0 (C-INTEROP §4.1: that is EOF).
private let socketRead: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = { bio, data, count in
    guard let s = state(bio), let data else { return -1 }
    BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
    while true {
        let n = read(s.pointee.fd, data, Int(count))
        if n > 0 { return Int32(n) }
        if n == 0 { errno = 0; return 0 }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY) }
        return -1
    }
}

/// Flush sends the output buffer (1 when empty, otherwise "retry write" or the send error, so
/// OpenSSL's handshake waits for writability); WPENDING reports buffered bytes; duplicate, push
/// and pop are accepted.
private let socketCtrl: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = { bio, cmd, _, _ in
    switch cmd {
    case BIO_CTRL_FLUSH:
        guard let s = state(bio) else { return 1 }
        BIO_clear_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
        switch s.pointee.output.send(fd: s.pointee.fd) {
        case .sent: return 1
        case .blocked:
            BIO_set_flags(bio, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY)
            return 0
        case .failed(let code):
            errno = code
            return -1
        }
    case BIO_CTRL_WPENDING:
        return state(bio)?.pointee.output.pending ?? 0
    case BIO_CTRL_DUP, BIO_CTRL_PUSH, BIO_CTRL_POP: return 1
    default: return 0
    }
}
