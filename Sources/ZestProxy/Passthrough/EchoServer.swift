import Dispatch
import ZestCore
import ZestReactor

/// A TCP echo server on the reactor: every byte a client sends comes back, FIN is answered
/// with FIN once everything was echoed, a reset is answered with a reset. It is the backend
/// of `zest demo` and of the relay tests; it shares the relay's copy loop (`BufferedCopy`).
public final class EchoServer: Sendable {
    public let listenAddress: SocketAddress
    private let group: WorkerGroup

    /// Binds `address` (port 0 picks one) on `workers` loops and starts serving.
    public init(listen address: SocketAddress, workers: Int = 1,
                bufferPool: BufferPoolConfiguration = .default) throws {
        let (fds, bound) = try ListeningSocket.bindGroup(address, count: workers)
        listenAddress = bound
        group = try WorkerGroup(workers: workers, bufferPool: bufferPool) { loop in
            _ = try Acceptor(loop: loop, listener: ListeningSocket(adopting: fds[loop.index])) { socket in
                _ = try? EchoConnection(socket: socket, loop: loop)
            }
        }
    }

    /// Stops serving; open connections are reset.
    public func shutdown() {
        group.shutdown()
    }
}

/// One echoed connection.
final class EchoConnection: EventHandler, BufferWaiter {
    private unowned(unsafe) let loop: EventLoop
    private let socket: Socket
    private let descriptor: FileDescriptor
    private var copy = BufferedCopy()
    private var waiting = false

    init(socket: Socket, loop: EventLoop) throws(SyscallError) {
        self.loop = loop
        self.socket = socket
        descriptor = socket.descriptor!
        try? socket.setNoDelay()
        try loop.register(descriptor, self)
    }

    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        guard socket.isOpen else { return }
        switch copy.pump(from: socket, to: socket, pool: loop.bufferPool) {
        case .idle, .blocked:
            break
        case .starved:
            if !waiting {
                waiting = true
                loop.waitForBuffers(self)
            }
        case .finished:
            loop.deregister(descriptor)
            socket.close()
        case .failed:
            close()
        }
    }

    func buffersAvailable() {
        waiting = false
        handleEvents([], descriptor: descriptor)
    }

    func loopStopping() { close() }

    private func close() {
        guard socket.isOpen else { return }
        loop.deregister(descriptor)
        copy.releaseSlot(loop.bufferPool)
        socket.closeWithReset()
    }
}
