import Glibc
import ZestCore

/// Accepts connections on one listening socket for one loop and hands each to `onAccept`
/// on the loop's thread. The listener is level-triggered: one `accept4` per event, and a queue
/// with more waiting reports again at the next wait, so the sequential case costs no `accept4`
/// that only says EAGAIN. When the process is out of descriptors it stops listening for events
/// and retries on a timer. Closes the listener when the loop stops.
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
        try loop.registerListener(listenerFD, self)
    }

    public func handleEvents(_ events: IOEvents, descriptor: FileDescriptor) {
        acceptOne()
    }

    private func acceptOne() {
        guard listener.descriptor != nil, !pausedUntilRetry, let onAccept else { return }
        do {
            if case .processed(let socket) = try listener.accept() {
                accepted += 1
                onAccept(socket)
            }
        } catch {
            // A connection's own network error (accept(2): "treat them like EAGAIN") leaves the
            // rest of the queue to the next event; anything else (EMFILE, ENFILE, ENOBUFS,
            // ENOMEM) would fail again at once, so the listener pauses.
            if !Self.connectionErrors.contains(error.errno) { backOff() }
        }
    }

    private static let connectionErrors: Set<Int32> = [ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT,
                                                        EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH]

    public func timerFired(_ timer: TimerID) {
        retry = nil
        pausedUntilRetry = false
        guard listener.descriptor != nil else { return }
        loop.setInputInterest(listenerFD, true)
    }

    /// Stops accepting for a moment and retries on a timer. Called on `EMFILE` from `accept4`,
    /// and by `onAccept` when it could not open what a connection needs (its upstream socket):
    /// accepting more would only reset each new connection in turn.
    public func backOff() {
        if !pausedUntilRetry, listener.descriptor != nil { loop.setInputInterest(listenerFD, false) }
        pausedUntilRetry = true
        if retry == nil { retry = loop.schedule(after: .milliseconds(20), self) }
    }

    /// Takes every connection already waiting in the accept queue (`accept4` until the queue
    /// is empty, at most `limit`), hands each to `onAccept`, then closes the listener. For a
    /// drain: those clients completed their handshake with us, and closing the listener over
    /// them would reset them, while a successor listening on the same port (`SO_REUSEPORT`)
    /// takes only connections that arrive after.
    public func closeTakingQueued(limit: Int = 4096) {
        var taken = 0
        while taken < limit, listener.descriptor != nil, let onAccept {
            guard case .processed(let socket)? = try? listener.accept() else { break }
            taken += 1
            accepted += 1
            onAccept(socket)
        }
        close()
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
