import Glibc

/// Encrypted bytes of one connection waiting for `send(2)`: TLS records appended by the socket
/// BIO, sent together. Bounded by `capacity`; the memory is allocated on the first append that
/// needs it and kept until `deallocate()`. Bytes leave in the order they came, from `head`.
struct OutputBuffer {
    /// What an append did.
    enum Append: Equatable {
        /// This many bytes were taken (sent or buffered), at least one.
        case taken(Int)
        /// Nothing fits and the socket is full: retry after writability.
        case blocked
        /// `send` failed with this errno; every later call fails the same way.
        case failed(Int32)
    }

    /// What a send did.
    enum Send: Equatable {
        /// The buffer is empty.
        case sent
        /// Bytes remain; the socket said EAGAIN, so an edge-triggered writable event will follow.
        case blocked
        case failed(Int32)
    }

    let capacity: Int
    private var storage: UnsafeMutableRawPointer?
    private var head = 0
    private var tail = 0
    private var error: Int32 = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 0)
    }

    /// Bytes buffered and not yet sent.
    var pending: Int { tail - head }

    /// Buffers `bytes`, sending what is buffered first when they do not fit. With nothing
    /// buffered, `direct` bytes, or bytes at least as large as the whole buffer, are sent at
    /// once without a copy (and only what the socket refuses is reported as not taken).
    mutating func append(_ bytes: UnsafeRawBufferPointer, fd: Int32, direct: Bool) -> Append {
        if error != 0 { return .failed(error) }
        if pending == 0 && (direct || bytes.count >= capacity) { return sendDirect(bytes, fd: fd) }
        if capacity - tail < bytes.count {
            switch send(fd: fd) {
            case .sent: break
            case .blocked: compact()
            case .failed(let code): return .failed(code)
            }
            if pending == 0 && bytes.count >= capacity { return sendDirect(bytes, fd: fd) }
        }
        let n = min(bytes.count, capacity - tail)
        guard n > 0 else { return .blocked }
        if storage == nil { storage = .allocate(byteCount: capacity, alignment: 64) }
        (storage! + tail).copyMemory(from: bytes.baseAddress!, byteCount: n)
        tail += n
        return .taken(n)
    }

    /// Sends everything buffered (`send(MSG_NOSIGNAL)`), until the buffer is empty or the socket
    /// says EAGAIN: a short send is retried, so a `.blocked` always leaves a writable edge armed.
    mutating func send(fd: Int32) -> Send {
        if error != 0 { return .failed(error) }
        while head < tail {
            let n = Glibc.send(fd, storage! + head, tail - head, Int32(MSG_NOSIGNAL))
            if n > 0 {
                head += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .blocked }
            error = n < 0 ? errno : EPIPE
            return .failed(error)
        }
        head = 0
        tail = 0
        return .sent
    }

    /// Frees the memory; the buffer must not be used afterwards.
    mutating func deallocate() {
        storage?.deallocate()
        storage = nil
    }

    private mutating func sendDirect(_ bytes: UnsafeRawBufferPointer, fd: Int32) -> Append {
        while true {
            let n = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n > 0 { return .taken(n) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .blocked }
            error = n < 0 ? errno : EPIPE
            return .failed(error)
        }
    }

    /// Moves the unsent bytes to the front so the free space is contiguous.
    private mutating func compact() {
        guard head > 0, let storage else { return }
        if head < tail { memmove(storage, storage + head, tail - head) }
        tail -= head
        head = 0
    }
}
