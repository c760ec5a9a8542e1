import CLoadShims
import Glibc
import LoadConsole

/// The least a user-space TCP relay can do: one epoll loop, no TLS, no framing, one `read` and
/// one `send` per message per direction. Two of them in the benchmark's topology (client side
/// and server side, like a proxy pair) measure the floor any pair of event-driven proxies pays
/// on this machine: the wake-ups and syscalls of two extra hops. Level-triggered; a peer that
/// does not read blocks the relay's write (bounded by the benchmark's own traffic patterns,
/// which never send both ways at once in bulk).
final class Relay {
    let epoll: Int32
    let listener: Int32
    let target: Endpoint
    /// The other end of each relayed socket, by descriptor; -1 when none.
    var peers: [Int32] = []
    /// Directions whose reading side hit EOF (shut down towards the peer), by descriptor.
    var ended: [Bool] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 4096)

    init(listenOn endpoint: Endpoint, forwardTo target: Endpoint) {
        raiseDescriptorLimit(atLeast: 4096)
        self.target = target
        listener = listenNonblocking(on: endpoint)
        epoll = newEpoll()
        add(listener)
    }

    func add(_ fd: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = fd
        if epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0 { fail("epoll_ctl: \(errnoText())") }
    }

    func run() -> Never {
        runEpoll(epoll) { fd, _ in if fd == listener { acceptOne() } else { forward(from: fd) } }
    }

    /// accept4 one connection (level-triggered: more waiting wake the next epoll_wait), then a
    /// blocking connect to the target (loopback or veth: it completes inside the call).
    func acceptOne() {
        let inside = load_accept_nonblocking(listener)
        guard inside >= 0 else { return }
        let outside = socket(target.family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        if outside < 0 { fail("socket: \(errnoText())") }
        setOption(outside, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        setOption(inside, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        if target.withSockaddr({ connect(outside, $0, $1) }) != 0 {
            _ = close(outside)
            _ = close(inside)
            return
        }
        let flags = fcntl(inside, F_GETFL)
        _ = fcntl(inside, F_SETFL, flags & ~O_NONBLOCK)
        let top = Int(max(inside, outside))
        while peers.count <= top { peers.append(-1); ended.append(false) }
        peers[Int(inside)] = outside
        peers[Int(outside)] = inside
        ended[Int(inside)] = false
        ended[Int(outside)] = false
        add(inside)
        add(outside)
    }

    /// One read from `fd`, written whole to its peer; EOF shuts the peer's write side, and the
    /// pair closes once both directions ended (or on any error).
    func forward(from fd: Int32) {
        let peer = peers[Int(fd)]
        guard peer >= 0 else { return }
        let n = read(fd, buffer.baseAddress!, buffer.count)
        if n > 0 {
            var done = 0
            while done < n {
                let w = send(peer, buffer.baseAddress! + done, n - done, Int32(MSG_NOSIGNAL))
                if w > 0 { done += w; continue }
                if w < 0 && errno == EINTR { continue }
                closePair(fd, peer)
                return
            }
            return
        }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
        if n < 0 || ended[Int(peer)] {
            closePair(fd, peer)
            return
        }
        ended[Int(fd)] = true
        shutdown(peer, Int32(SHUT_WR))
        var event = epoll_event()
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event)
    }

    func closePair(_ a: Int32, _ b: Int32) {
        peers[Int(a)] = -1
        peers[Int(b)] = -1
        _ = close(a)
        _ = close(b)
    }
}
