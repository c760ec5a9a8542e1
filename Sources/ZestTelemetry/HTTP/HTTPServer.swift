import Glibc
import Synchronization
import ZestCore

/// A small HTTP/1.1 server for the control plane's endpoints (metrics, readiness, admin):
/// one `poll(2)` loop on its own thread, one request per connection (answered with
/// `Connection: close`). Requests are bounded in size and time; malformed ones get a 4xx.
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var address: SocketAddress
        /// Largest request line plus headers accepted (431 beyond).
        public var maxHeaderBytes = 16 * 1024
        /// Largest request body accepted (413 beyond).
        public var maxBodyBytes = 64 * 1024
        /// A client must send its whole request within this time (408 after).
        public var requestTimeout: Duration = .seconds(10)
        /// Connections served at once; more are closed on accept.
        public var maxConnections = 64

        public init(address: SocketAddress) {
            self.address = address
        }
    }

    /// The address the server listens on (with the real port when configured with port 0).
    public let localAddress: SocketAddress
    private let stopping = StopFlag()
    private let wakeWriteFD: Int32
    private let thread = Mutex<ServerThread?>(nil)

    /// Binds, listens and starts the server thread. Throws when the address cannot be bound.
    public init(_ configuration: Configuration, handler: @escaping HTTPHandler) throws(ListenError) {
        let listener = try ListenSocket(address: configuration.address)
        localAddress = listener.localAddress
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            close(listener.fd)
            throw .socket(errno: errno)
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeWriteFD = fds[1]
        let wakeRead = fds[0], listenFD = listener.fd
        let config = configuration
        thread.withLock {
            $0 = ServerThread { [stopping] in
                var loop = HTTPServerLoop(listenFD: listenFD, wakeFD: wakeRead, config: config, handler: handler)
                loop.run(stopping: stopping)
                loop.closeAll()
                close(wakeRead)
                close(listenFD)
            }
        }
    }

    /// Stops accepting, closes every connection and joins the server thread. Idempotent.
    public func stop() {
        guard let t = thread.withLock({ t -> ServerThread? in defer { t = nil }; return t }) else { return }
        stopping.set()
        var b: UInt8 = 1
        _ = write(wakeWriteFD, &b, 1)
        t.join()
        close(wakeWriteFD)
    }

    deinit {
        stop()
    }
}

/// The state of one server thread: the listener, the wake pipe and the open connections.
struct HTTPServerLoop {
    let listenFD: Int32
    let wakeFD: Int32
    let config: HTTPServer.Configuration
    let handler: HTTPHandler
    var connections: [Int32: HTTPServerConnection] = [:]
    /// Set when accept failed for lack of descriptors: the listener is left alone until then
    /// instead of spinning on a socket that stays readable.
    var acceptPausedUntil: ContinuousClock.Instant?
    let clock = ContinuousClock()

    init(listenFD: Int32, wakeFD: Int32, config: HTTPServer.Configuration, handler: @escaping HTTPHandler) {
        self.listenFD = listenFD
        self.wakeFD = wakeFD
        self.config = config
        self.handler = handler
    }

    mutating func run(stopping: StopFlag) {
        while !stopping.isSet {
            if let until = acceptPausedUntil, clock.now >= until { acceptPausedUntil = nil }
            let listening = acceptPausedUntil == nil
            var pfds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
                        pollfd(fd: listening ? listenFD : -1, events: Int16(POLLIN), revents: 0)]
            for (fd, c) in connections {
                pfds.append(pollfd(fd: fd, events: Int16(c.wantsWrite ? POLLOUT : POLLIN), revents: 0))
            }
            let n = poll(&pfds, nfds_t(pfds.count), timeoutMillis())
            if n < 0 && errno != EINTR { return }
            let now = clock.now
            if pfds[1].revents & Int16(POLLIN) != 0 { acceptAll(now: now) }
            for p in pfds.dropFirst(2) where p.revents != 0 {
                service(p.fd, readable: p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0,
                        writable: p.revents & Int16(POLLOUT | POLLHUP | POLLERR) != 0, now: now)
            }
            expire(now: clock.now)
        }
    }

    private func timeoutMillis() -> Int32 {
        let deadlines = connections.values.map(\.deadline) + (acceptPausedUntil.map { [$0] } ?? [])
        guard let next = deadlines.min() else { return 1000 }
        let left = clock.now.duration(to: next)
        let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1
        return Int32(max(0, min(1000, ms)))
    }

    private mutating func acceptAll(now: ContinuousClock.Instant) {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    acceptPausedUntil = now + .milliseconds(100)
                }
                return
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if connections.count >= config.maxConnections {
                close(fd)
                continue
            }
            connections[fd] = HTTPServerConnection(fd: fd, deadline: now + config.requestTimeout)
        }
    }

    private mutating func service(_ fd: Int32, readable: Bool, writable: Bool, now: ContinuousClock.Instant) {
        guard var c = connections[fd] else { return }
        let parser = HTTPRequestParser(maxHeaderBytes: config.maxHeaderBytes, maxBodyBytes: config.maxBodyBytes)
        let keep = c.step(readable: readable, writable: writable, now: now, parser: parser,
                          handler: handler, lingerTimeout: config.requestTimeout)
        if keep {
            connections[fd] = c
        } else {
            close(fd)
            connections[fd] = nil
        }
    }

    private mutating func expire(now: ContinuousClock.Instant) {
        for (fd, var c) in connections where c.deadline <= now {
            if c.expire(now: now, lingerTimeout: config.requestTimeout) {
                connections[fd] = c
            } else {
                close(fd)
                connections[fd] = nil
            }
        }
    }

    func closeAll() {
        for fd in connections.keys { close(fd) }
    }
}

/// A one-way flag set by `stop()` and read by a server or writer thread.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() {
        value.store(true, ordering: .releasing)
    }

    var isSet: Bool { value.load(ordering: .acquiring) }
}
