import CLoadShims
import Glibc
import LoadConsole

/// One accepted connection of the backend. The first byte picks the mode: "E" echoes every
/// byte back; "S" checks each byte against SinkPattern, discards and counts, then answers the
/// count (8 bytes, big-endian; SinkPattern.mismatch if any byte differed) after the client's EOF.
final class BackendConnection {
    enum Mode { case undecided, echo, sink }
    var mode = Mode.undecided
    var counted: UInt64 = 0
    var intact = true
    /// Bytes the socket did not take yet; while non-empty the connection waits for EPOLLOUT
    /// and reads nothing (back-pressure towards the client).
    var pending: [UInt8] = []
    var closeWhenFlushed = false
}

/// A single-threaded, level-triggered epoll TCP server for the echo and sink modes.
final class Backend {
    let epoll: Int32
    let listener: Int32
    var connections: [BackendConnection?] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    let pattern = SinkPattern(chunk: 1 << 20)

    /// socket, bind, listen(4096) and epoll_create1; fails with the address if the port is taken.
    init(listenOn endpoint: Endpoint) {
        raiseDescriptorLimit(atLeast: 4096)
        listener = listenNonblocking(on: endpoint)
        epoll = newEpoll()
        watch(listener, EPOLLIN.rawValue, add: true)
    }

    /// epoll_ctl ADD or MOD of `fd` for `events`.
    func watch(_ fd: Int32, _ events: UInt32, add: Bool) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        if epoll_ctl(epoll, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) != 0 { fail("epoll_ctl: \(errnoText())") }
    }

    /// Serves until killed.
    func run() -> Never {
        runEpoll(epoll) { fd, events in if fd == listener { acceptAll() } else { serve(fd, events) } }
    }

    /// accept4 until EAGAIN; each new socket gets TCP_NODELAY and EPOLLIN interest.
    func acceptAll() {
        while true {
            let fd = load_accept_nonblocking(listener)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EAGAIN || errno == EMFILE || errno == ENFILE { return }
                fail("accept4: \(errnoText())")
            }
            setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            while connections.count <= Int(fd) { connections.append(nil) }
            connections[Int(fd)] = BackendConnection()
            watch(fd, EPOLLIN.rawValue | EPOLLRDHUP.rawValue, add: true)
        }
    }

    func serve(_ fd: Int32, _ events: UInt32) {
        guard let connection = connections[Int(fd)] else { return }
        if !connection.pending.isEmpty {
            if events & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { flush(fd, connection) }
            return
        }
        // Reads until a short read (level-triggered: anything left wakes the next epoll_wait).
        while true {
            let n = read(fd, buffer.baseAddress!, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                drop(fd)
                return
            }
            if n == 0 {
                finish(fd, connection)
                return
            }
            if !consume(fd, connection, n) || n < buffer.count { return }
        }
    }

    /// Handles `count` bytes just read into `buffer`; false when the connection stopped reading.
    func consume(_ fd: Int32, _ connection: BackendConnection, _ count: Int) -> Bool {
        var start = 0
        if connection.mode == .undecided {
            switch buffer[0] {
            case UInt8(ascii: "E"): connection.mode = .echo
            case UInt8(ascii: "S"): connection.mode = .sink
            default:
                drop(fd)
                return false
            }
            start = 1
        }
        if connection.mode == .sink {
            if connection.intact && !pattern.matches(buffer.baseAddress! + start, count - start, at: connection.counted) {
                connection.intact = false
            }
            connection.counted += UInt64(count - start)
            return true
        }
        return send(fd, connection, UnsafeRawBufferPointer(rebasing: buffer[start..<count]))
    }

    /// EOF from the client: a sink answers its count and closes after it is out; an echo closes.
    func finish(_ fd: Int32, _ connection: BackendConnection) {
        guard connection.mode == .sink else {
            drop(fd)
            return
        }
        connection.closeWhenFlushed = true
        var count = (connection.intact ? connection.counted : SinkPattern.mismatch).bigEndian
        if withUnsafeBytes(of: &count, { send(fd, connection, $0) }) { drop(fd) }
    }

    /// Writes `bytes`; what the socket does not take goes to `pending` and the connection
    /// switches to EPOLLOUT. True when everything was written.
    func send(_ fd: Int32, _ connection: BackendConnection, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            drop(fd)
            return false
        }
        if done == bytes.count { return true }
        connection.pending = Array(bytes[done...])
        watch(fd, EPOLLOUT.rawValue, add: false)
        return false
    }

    /// Writes what is pending; once empty, reads resume (or the connection closes after a sink's answer).
    func flush(_ fd: Int32, _ connection: BackendConnection) {
        let pending = connection.pending
        connection.pending = []
        let sent = pending.withUnsafeBytes { send(fd, connection, $0) }
        guard sent else { return }
        if connection.closeWhenFlushed {
            drop(fd)
        } else {
            watch(fd, EPOLLIN.rawValue | EPOLLRDHUP.rawValue, add: false)
        }
    }

    /// Closes the socket (closing removes it from epoll) and forgets its state.
    func drop(_ fd: Int32) {
        connections[Int(fd)] = nil
        _ = close(fd)
    }
}
