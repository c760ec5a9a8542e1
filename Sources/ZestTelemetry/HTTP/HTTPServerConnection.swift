import Glibc

/// One client connection of `HTTPServer`: read the request, answer, then linger until the
/// client closes (so unread input cannot turn the close into a reset that eats the answer).
struct HTTPServerConnection {
    enum Phase { case reading, writing, lingering }

    let fd: Int32
    var deadline: ContinuousClock.Instant
    var phase = Phase.reading
    var input: [UInt8] = []
    var output: [UInt8] = []
    var written = 0

    init(fd: Int32, deadline: ContinuousClock.Instant) {
        self.fd = fd
        self.deadline = deadline
    }

    var wantsWrite: Bool { phase == .writing }

    /// Advances on readiness; returns false when the connection is finished and must be closed.
    mutating func step(readable: Bool, writable: Bool, now: ContinuousClock.Instant, parser: HTTPRequestParser,
                       handler: HTTPHandler, lingerTimeout: Duration) -> Bool {
        switch phase {
        case .reading:
            guard readable else { return true }
            var chunk = [UInt8](repeating: 0, count: 4096)
            var peerDone = false
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    input += chunk[0..<n]
                    if input.count > parser.maxHeaderBytes + parser.maxBodyBytes + 4 { break }
                    continue
                }
                if n == 0 { peerDone = true; break }
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                return false
            }
            switch parser.parse(input) {
            case .incomplete:
                // A client that half-closed with a partial request will never finish it.
                if peerDone && !input.isEmpty {
                    respond(.text(400, "request ended before it was complete\n"), now: now, lingerTimeout: lingerTimeout)
                    return flush(now: now, lingerTimeout: lingerTimeout)
                }
                return !peerDone
            case .complete(let request):
                respond(handler(request), now: now, lingerTimeout: lingerTimeout, includeBody: request.method != "HEAD")
            case .invalid(let status, let reason):
                respond(.text(status, reason + "\n"), now: now, lingerTimeout: lingerTimeout)
            }
            return flush(now: now, lingerTimeout: lingerTimeout)
        case .writing:
            return writable ? flush(now: now, lingerTimeout: lingerTimeout) : true
        case .lingering:
            guard readable else { return true }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))
        }
    }

    /// The deadline passed: a client still sending gets 408, anything else is closed.
    mutating func expire(now: ContinuousClock.Instant, lingerTimeout: Duration) -> Bool {
        guard phase == .reading else { return false }
        respond(.text(408, "request not received in time\n"), now: now, lingerTimeout: lingerTimeout)
        return flush(now: now, lingerTimeout: lingerTimeout)
    }

    private mutating func respond(_ response: HTTPResponse, now: ContinuousClock.Instant, lingerTimeout: Duration,
                                  includeBody: Bool = true) {
        output = response.serialized(includeBody: includeBody)
        written = 0
        phase = .writing
        deadline = now + lingerTimeout
        input = []
    }

    /// Writes what it can (`send` with MSG_NOSIGNAL so a gone client cannot raise SIGPIPE).
    private mutating func flush(now: ContinuousClock.Instant, lingerTimeout: Duration) -> Bool {
        while written < output.count {
            let n = output.withUnsafeBytes {
                send(fd, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { written += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return true }
            return false
        }
        shutdown(fd, Int32(SHUT_WR))
        phase = .lingering
        deadline = now + lingerTimeout
        return true
    }
}
