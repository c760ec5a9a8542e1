import ZestCore

/// Accepts connections on one listening socket for one loop and hands each to `onAccept`
/// on the loop's thread. Drains the accept queue on every edge; when the process is out of
/// descriptors it retries on a timer, because the waiting connections raise no new edge.
/// Closes the listener when the loop stops.
public final class Acceptor: EventHandler, TimerHandler {
    private unowned(unsafe) let loop: EventLoop
    private let listener: ListeningSocket
    private let listenerFD: FileDescriptor
    private var onAccept: ((Socket) -> Void)?
    private var retry: TimerID?
    private var pausedUntilRetry = false
    /// Connections accepted so far.
    public private(set) var accepted: UInt64 = 0

    /// Registers `listener` on `loop`. `onAccept` runs on the loop for every new connection;
    /// it is dropped when the loop stops, which breaks any reference cycle through it.
    public init(loop: EventLoop, listener: ListeningSocket, onAccept: @escaping (Socket) -> Void) throws(SyscallError) {
        self.loop = loop
        self.listener = listener
        self.onAccept = onAccept
        listenerFD = listener.descriptor!
        try loop.register(listenerFD, self)
    }

    public func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        acceptAll()
    }

    private func acceptAll() {
        while listener.descriptor != nil, !pausedUntilRetry, let onAccept {
            do {
                switch try listener.accept() {
                case .wouldBlock:
                    return
                case .processed(let socket):
                    accepted += 1
                    onAccept(socket)
                }
            } catch {
                if error.isOutOfDescriptors { backOff() }
                return
            }
        }
    }

    public func timerFired(_ timer: TimerID) {
        retry = nil
        pausedUntilRetry = false
        acceptAll()
    }

    /// Stops accepting for a moment and retries on a timer. Called on `EMFILE` from `accept4`,
    /// and by `onAccept` when it could not open what a connection needs (its upstream socket):
    /// accepting more would only reset each new connection in turn.
    public func backOff() {
        pausedUntilRetry = true
        if retry == nil { retry = loop.schedule(after: .milliseconds(20), self) }
    }

    /// Stops accepting and closes the listener.
    public func close() {
        loop.deregister(listenerFD)
        if let r = retry { loop.cancel(r) }
        retry = nil
        listener.close()
        onAccept = nil
    }

    public func loopStopping() {
        close()
    }
}
