import Glibc
import Testing
import ZestCore
import ZestIdentity
@testable import ZestTLS

/// A connected pair of nonblocking stream sockets (`socketpair`), closed on deinit.
final class SocketPair {
    let a: FileDescriptor
    let b: FileDescriptor
    init() {
        var fds: [Int32] = [-1, -1]
        let r = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0, &fds)
        precondition(r == 0, "socketpair failed: \(errno)")
        a = FileDescriptor(rawValue: fds[0])
        b = FileDescriptor(rawValue: fds[1])
    }
    deinit { close(a.rawValue); close(b.rawValue) }
}

/// Waits up to `ms` for `fd` to be ready for what `progress` asks (poll(2)).
func waitFor(_ progress: TLSProgress, on fd: FileDescriptor, ms: Int32 = 50) {
    var p = pollfd(fd: fd.rawValue, events: Int16(progress == .wantWrite ? POLLOUT : POLLIN), revents: 0)
    _ = poll(&p, 1, ms)
}

/// Outcome of driving one side's handshake.
enum HandshakeOutcome: Equatable {
    case pending
    case completed
    case failed(TLSError)
    var error: TLSError? { if case .failed(let e) = self { return e }; return nil }
}

/// Drives two connections' handshakes on one thread with poll(2) until both finish or fail,
/// bounded by `timeout`.
func handshake(_ client: TLSConnection, _ server: TLSConnection,
               timeout: Duration = .seconds(10)) -> (client: HandshakeOutcome, server: HandshakeOutcome) {
    var outcomes: [HandshakeOutcome] = [.pending, .pending]
    let sides = [client, server]
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while outcomes.contains(.pending) && clock.now < deadline {
        var fds: [pollfd] = []
        for (i, side) in sides.enumerated() where outcomes[i] == .pending {
            do {
                let p = try side.handshake()
                if p == .done(0) { outcomes[i] = .completed; continue }
                fds.append(pollfd(fd: side.fd.rawValue, events: Int16(p == .wantWrite ? POLLOUT : POLLIN), revents: 0))
            } catch {
                outcomes[i] = .failed(error)
            }
        }
        if !fds.isEmpty && outcomes.contains(.pending) { _ = poll(&fds, nfds_t(fds.count), 50) }
    }
    return (outcomes[0], outcomes[1])
}

/// Writes all of `bytes` through `c`, polling when it must wait. Returns false on error.
@discardableResult
func writeAll(_ c: TLSConnection, _ bytes: [UInt8], timeout: Duration = .seconds(10)) -> Bool {
    var offset = 0
    let deadline = ContinuousClock().now + timeout
    while offset < bytes.count && ContinuousClock().now < deadline {
        let r = bytes[offset...].withUnsafeBytes { try? c.write(from: $0) }
        switch r {
        case .done(let n)?: offset += n
        case .wantRead?, .wantWrite?: waitFor(r!, on: c.fd)
        case .closed?, nil: return false
        }
    }
    return offset == bytes.count
}

/// What a read attempt ended with.
enum ReadOutcome: Equatable {
    case data([UInt8])
    case closed
    case failed(TLSError)
    case timedOut
}

/// Reads until `count` bytes arrived, the peer closed, an error, or the timeout.
func readSome(_ c: TLSConnection, count: Int, timeout: Duration = .seconds(5)) -> ReadOutcome {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    let deadline = ContinuousClock().now + timeout
    while out.count < count && ContinuousClock().now < deadline {
        do {
            let r = try buffer.withUnsafeMutableBytes { try c.read(into: $0) }
            switch r {
            case .done(let n): out += buffer[0..<n]
            case .wantRead, .wantWrite: waitFor(r, on: c.fd)
            case .closed: return out.isEmpty ? .closed : .data(out)
            }
        } catch {
            return out.isEmpty ? .failed(error as! TLSError) : .data(out)
        }
    }
    return out.isEmpty ? .timedOut : .data(out)
}

/// Drives one connection's handshake with poll(2) until it completes, fails or times out.
func drive(_ c: TLSConnection, timeout: Duration = .seconds(10)) -> HandshakeOutcome {
    let deadline = ContinuousClock().now + timeout
    while ContinuousClock().now < deadline {
        do {
            let p = try c.handshake()
            if p == .done(0) { return .completed }
            waitFor(p, on: c.fd)
        } catch {
            return .failed(error)
        }
    }
    return .pending
}
