import CLoadShims
import Glibc
import LoadConsole

/// The text of the current errno (strerror).
func errnoText() -> String { String(cString: strerror(errno)) }

/// Nanoseconds on CLOCK_MONOTONIC (clock_gettime).
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// User plus system CPU seconds of this process so far (getrusage RUSAGE_SELF).
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let micros = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000 + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec
    return Double(micros) / 1e6
}

/// `x` with `digits` decimals, without Foundation's formatter.
func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((abs(x) * scale).rounded())
    let whole = scaled / Int64(scale)
    var fraction = String(scaled % Int64(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    return (x < 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + fraction : "")
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (getrlimit/setrlimit); fails when even the
/// hard limit is below `count` descriptors.
func raiseDescriptorLimit(atLeast count: Int) {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    getrlimit(resource, &limit)
    if limit.rlim_max < rlim_t(count) {
        fail("the descriptor hard limit is \(limit.rlim_max), \(count) are needed; raise `ulimit -Hn` or lower the count")
    }
    limit.rlim_cur = limit.rlim_max
    if setrlimit(resource, &limit) != 0 { fail("setrlimit(RLIMIT_NOFILE): \(errnoText())") }
}

/// Sets an integer socket option, failing loudly (setsockopt).
func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
    var v = value
    if setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) != 0 {
        fail("setsockopt(\(level), \(name)): \(errnoText())")
    }
}

/// An IPv4 or IPv6 address and port, parsed with inet_pton.
struct Endpoint {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 = 0
    let text: String

    init(host: String, port: String) {
        text = "\(host):\(port)"
        guard let p = UInt16(port) else { fail("bad port \(port)") }
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = p.bigEndian
            withUnsafeBytes(of: v4) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = p.bigEndian
            withUnsafeBytes(of: v6) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            fail("bad IP address \(host) (give a numeric IPv4 or IPv6 address)")
        }
    }

    /// Runs `body` with the address as the `sockaddr` pointer bind/connect take.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }
}

/// A nonblocking listening socket on `endpoint` (SO_REUSEADDR, backlog 4096), failing loudly.
func listenNonblocking(on endpoint: Endpoint) -> Int32 {
    let fd = socket(endpoint.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
    if fd < 0 { fail("socket: \(errnoText())") }
    setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
    if endpoint.withSockaddr({ bind(fd, $0, $1) }) != 0 { fail("bind \(endpoint.text): \(errnoText())") }
    if listen(fd, 4096) != 0 { fail("listen \(endpoint.text): \(errnoText())") }
    return fd
}

/// A new epoll instance (epoll_create1(EPOLL_CLOEXEC)), failing loudly.
func newEpoll() -> Int32 {
    let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
    if fd < 0 { fail("epoll_create1: \(errnoText())") }
    return fd
}

/// Waits on `epoll` forever (epoll_wait, 256 events at a time) and hands each ready
/// descriptor and its events to `dispatch`.
func runEpoll(_ epoll: Int32, _ dispatch: (Int32, UInt32) -> Void) -> Never {
    let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 256)
    while true {
        let n = epoll_wait(epoll, events, 256, -1)
        if n < 0 {
            if errno == EINTR { continue }
            fail("epoll_wait: \(errnoText())")
        }
        for i in 0..<Int(n) { dispatch(events[i].data.fd, events[i].events) }
    }
}

/// A blocking client TCP socket with TCP_NODELAY and 30 s send/receive timeouts, so a proxy that
/// stalls turns into an error, not a hang.
struct Client {
    let fd: Int32
    let peer: String

    /// socket + connect; fails with the peer's address and the errno text.
    init(to endpoint: Endpoint) {
        peer = endpoint.text
        fd = socket(endpoint.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { fail("socket: \(errnoText())") }
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = endpoint.withSockaddr { connect(fd, $0, $1) }
        if rc != 0 { fail("connect to \(peer): \(errnoText())") }
    }

    /// send(MSG_NOSIGNAL) until all `count` bytes are out.
    func sendAll(_ bytes: UnsafeRawPointer, _ count: Int) {
        var done = 0
        while done < count {
            let n = send(fd, bytes + done, count - done, Int32(MSG_NOSIGNAL))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            fail("send to \(peer) after \(done) of \(count) bytes: \(errnoText())")
        }
    }

    /// recv until exactly `count` bytes arrived; an early EOF or timeout fails.
    func receiveExactly(_ bytes: UnsafeMutableRawPointer, _ count: Int) {
        var done = 0
        while done < count {
            let n = recv(fd, bytes + done, count - done, 0)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            fail("receive from \(peer) after \(done) of \(count) bytes: "
                 + (n == 0 ? "connection closed early" : errnoText()))
        }
    }

    /// Sends one byte after the mode byte "E" and checks that the same byte comes back.
    func echoOneByte(_ value: UInt8, withMode: Bool) {
        var request: (UInt8, UInt8) = (UInt8(ascii: "E"), value)
        withUnsafeBytes(of: &request) { raw in
            if withMode { sendAll(raw.baseAddress!, 2) } else { sendAll(raw.baseAddress! + 1, 1) }
        }
        var reply: UInt8 = 0
        receiveExactly(&reply, 1)
        if reply != value { fail("echo from \(peer) returned \(reply), sent \(value)") }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
    func close() { _ = Glibc.close(fd) }
}
