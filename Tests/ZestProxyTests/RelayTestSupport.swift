import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing
import ZestCore
import ZestProxy
import ZestReactor
import ZestTestSupport

let loopbackAny = SocketAddress(ip: .loopbackV4, port: 0)

/// A small pool configuration so tests do not reserve the production default per worker.
let testPool = BufferPoolConfiguration(slotCount: 256, headroom: 16, payloadCapacity: BufferPoolConfiguration.payloadFillingTLSRecords(4))

/// Raises this process's open-file limit to at least `wanted` (root may raise the hard limit
/// too), else to the hard limit.
func raiseOpenFileLimit(to wanted: rlim_t = 16_384) {
    var rl = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl)
    var raised = rl
    raised.rlim_max = max(rl.rlim_max, wanted)
    raised.rlim_cur = raised.rlim_max
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 {
        rl.rlim_cur = rl.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl)
    }
}

/// Waits (bounded) for one connection on a nonblocking listener, returned in blocking mode.
func acceptBlocking(_ listener: ListeningSocket) throws -> Socket {
    let accepted = try listener.accept(timeout: .seconds(5))
    try accepted.setBlocking(true)
    try accepted.setReceiveTimeout(.seconds(10))
    return accepted
}

/// Reads up to `count` bytes, stopping early at end of stream. Throws on reset or timeout.
func readUpTo(_ socket: Socket, _ count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        let r = try out.withUnsafeMutableBytes { try socket.read(into: $0.baseAddress! + got, count: count - got) }
        switch r {
        case .processed(0): return Array(out[0..<got])
        case .processed(let n): got += n
        case .wouldBlock: throw SyscallError("read", errno: ETIMEDOUT)
        }
    }
    return out
}

func send(_ socket: Socket, _ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try socket.writeAll($0.baseAddress!, count: $0.count) }
}

/// Connects a blocking client with a receive timeout.
func connectClient(_ address: SocketAddress) throws -> Socket {
    let s = try Socket.connectBlocking(to: address)
    try s.setReceiveTimeout(.seconds(10))
    return s
}

/// A relay (one worker) in front of a backend the test drives itself, with one connection
/// through it: `client` talks to the relay, `server` is the backend's accepted end.
final class RelayedPair {
    let backend: ListeningSocket
    let relay: PassthroughRelay
    let client: Socket
    let server: Socket

    init(mode: CopyMode) throws {
        backend = try ListeningSocket(listeningOn: loopbackAny)
        relay = try PassthroughRelay(RelayConfiguration(listen: loopbackAny, upstream: backend.localAddress(), workers: 1,
                                                        copyMode: mode, bufferPool: testPool))
        client = try connectClient(relay.listenAddress)
        server = try acceptBlocking(backend)
    }

    deinit { relay.shutdown() }
}

/// Expects the next read on `socket` to fail with a connection reset.
func expectReset(_ socket: Socket, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(sourceLocation: sourceLocation) { _ = try readUpTo(socket, 1) } throws: { ($0 as? SyscallError)?.isReset == true }
}

/// Lets a helper thread use a socket the test thread also holds (blocking sockets are
/// full-duplex; the test closes it only after the helper finished).
final class SharedSocket: @unchecked Sendable {
    let socket: Socket
    init(_ s: Socket) { socket = s }
}

/// Runs `body` on another thread; `wait()` returns its result.
final class Background<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable () throws -> T) {
        DispatchQueue.global().async {
            self.result = Result { try body() }
            self.done.signal()
        }
    }

    func wait(timeout: Duration = .seconds(120)) throws -> T {
        let ns = MonotonicClock.nanoseconds(timeout)
        guard done.wait(timeout: .now() + .nanoseconds(Int(ns))) == .success else {
            throw SyscallError("wait", errno: ETIMEDOUT)
        }
        return try result!.get()
    }
}

/// The `zest` executable built next to this test bundle (`swift build --build-tests` builds it).
func zestBinary() throws -> String {
    guard let zest = PackagePaths.zest else {
        throw RelayProcessError(text: "zest binary not found next to the test bundle; build it with `swift build --build-tests`")
    }
    return zest
}

struct RelayProcessError: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}

/// A `zest relay` child process, stopped with SIGTERM by `stop()`. Started with `posix_spawn`
/// rather than Foundation's `Process`, whose descriptor scan trips AddressSanitizer.
final class RelayProcess {
    let pid: pid_t
    let listenAddress: SocketAddress
    private let output: Int32
    private var running = true

    /// `openFileLimit` runs the relay under `prlimit --nofile=N:N`.
    init(to upstream: SocketAddress, workers: Int = 1, openFileLimit: Int? = nil) throws {
        let limit = openFileLimit.map { ["/usr/bin/prlimit", "--nofile=\($0):\($0)"] } ?? []
        let argv = limit + [try zestBinary(), "relay", "--listen", "127.0.0.1:0", "--to", upstream.description,
                            "--workers", "\(workers)"]
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SyscallError("pipe", errno: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, argv[0], &actions, nil, cArgs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw SyscallError("posix_spawn", errno: rc)
        }
        pid = child
        output = fds[0]
        // The first line names the bound address: "zest relay: listening on 127.0.0.1:PORT, ...".
        var text = ""
        var byte: UInt8 = 0
        var pfd = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        while !text.hasSuffix("\n"), poll(&pfd, 1, 10_000) == 1, read(output, &byte, 1) == 1 {
            text.unicodeScalars.append(UnicodeScalar(byte))
        }
        guard let range = text.range(of: "listening on "),
              let address = SocketAddress(text[range.upperBound...].prefix { $0 != "," && $0 != "\n" }) else {
            kill(child, SIGKILL)
            waitpid(child, nil, 0)
            close(output)
            running = false
            throw RelayProcessError(text: "zest relay printed no listen address: \(text)")
        }
        listenAddress = address
    }

    /// Resident memory of the relay (`VmRSS` in /proc/<pid>/status), in bytes.
    func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? -1
        return kb * 1024
    }

    /// Open descriptors of the relay (entries of /proc/<pid>/fd).
    func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// SIGTERM, then waits (bounded; SIGKILL after 10 s) and reaps the child.
    func stop() {
        guard running else { return }
        running = false
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let exited = waitUntil(timeout: .seconds(10)) { waitpid(pid, &status, WNOHANG) == pid }
        if !exited {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        close(output)
    }

    deinit { stop() }
}
