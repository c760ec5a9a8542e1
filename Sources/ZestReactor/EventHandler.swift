import CZestShims
import ZestCore

/// What epoll reported for one descriptor. With edge-triggered registration these are edges:
/// a handler must read (or write) until `.wouldBlock` before it can expect another one.
public struct IOEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = IOEvents(rawValue: EPOLLIN.rawValue)
    public static let writable = IOEvents(rawValue: EPOLLOUT.rawValue)
    /// The peer sent FIN (`EPOLLRDHUP`): reads will reach end of stream once drained.
    public static let readHangup = IOEvents(rawValue: EPOLLRDHUP.rawValue)
    /// Both directions are shut down or the connection was reset (`EPOLLHUP`).
    public static let hangup = IOEvents(rawValue: EPOLLHUP.rawValue)
    /// A socket error is pending (`EPOLLERR`); the next read or write reports it.
    public static let error = IOEvents(rawValue: EPOLLERR.rawValue)
}

/// Something driven by one event loop's readiness events: a listener, a relay connection, or a
/// protocol layer (TLS, HTTP/2) that owns a nonblocking descriptor and does its own I/O on it.
///
/// A descriptor is registered once for `IN | OUT | RDHUP | ET` and never modified, so a handler
/// gets every edge in both directions and decides itself what to do. The rule that keeps
/// edge-triggered I/O from stalling: on any event, first flush what is pending, then read until
/// `.wouldBlock` (or until back-pressure pauses reading, in which case the handler must resume
/// the read loop itself when the pressure is gone: no new edge will come).
public protocol EventHandler: AnyObject {
    /// Readiness changed for `descriptor`, one of the descriptors this handler registered.
    /// Called on the loop's thread. Spurious calls are allowed and must be harmless.
    func handleEvents(_ events: IOEvents, descriptor: FileDescriptor)

    /// The loop is stopping: close every descriptor this handler owns and drop timers.
    /// The loop forgets the handler right after this call.
    func loopStopping()
}

/// Told when its timer fires. Timers are one-shot; the handler re-arms if it wants more.
public protocol TimerHandler: AnyObject {
    func timerFired(_ timer: TimerID)
}

/// Told when the loop's buffer pool has free slots again after it ran dry (back-pressure).
public protocol BufferWaiter: AnyObject {
    func buffersAvailable()
}
