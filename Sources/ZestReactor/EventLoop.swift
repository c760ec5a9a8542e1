import CZestShims
import Glibc
import ZestCore

/// One worker's epoll loop (edge-triggered), with its timer wheel and buffer pool.
///
/// Confined to the thread that runs it: not Sendable, so the compiler keeps connections and
/// buffers on their worker. Other threads reach it only through `handle`.
/// Handlers are held strongly in a table indexed by descriptor number until deregistered or the
/// loop stops; a stopped loop drops them all, so loop → handler → loop references cannot leak.
public final class EventLoop {
    /// Cross-thread wake, stop and task submission.
    public let handle: EventLoopHandle
    /// This worker's buffers.
    public let bufferPool: BufferPool
    /// This worker's timers (nanoseconds on `MonotonicClock`).
    public let timers: TimerWheel
    /// The worker's index in its group (0 for a standalone loop).
    public let index: Int

    private var epollDescriptor: Int32
    private var handlers: [EventHandler?] = []
    private var bufferWaiters: [BufferWaiter] = []
    private let events: UnsafeMutablePointer<epoll_event>
    private let eventCapacity = 256
    private var stopped = false
    /// Descriptors currently registered.
    public private(set) var registeredCount = 0
    /// `MonotonicClock.now()` read once per wake-up: cheap "current time" for activity stamps.
    public private(set) var now: UInt64
    /// Opt-in busy polling: before blocking in `epoll_wait`, poll with timeout 0 for this long,
    /// so an event arriving within it is taken without a sleep and wake-up. Costs a CPU spinning
    /// for that long after every batch of events; zero (the default) never spins.
    public var busyPoll: Duration = .zero
    /// Wake-ups that found events while spinning (busy polling only).
    public private(set) var busyPollHits = 0

    /// Creates the epoll instance (`epoll_create1(EPOLL_CLOEXEC)`) and registers the handle's eventfd.
    public init(index: Int = 0, handle: EventLoopHandle? = nil,
                bufferPool configuration: BufferPoolConfiguration = .default) throws(SyscallError) {
        self.index = index
        if let handle { self.handle = handle } else { self.handle = try EventLoopHandle() }
        epollDescriptor = try checkedSyscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        bufferPool = BufferPool(configuration)
        now = MonotonicClock.now()
        timers = TimerWheel(now: now)
        events = .allocate(capacity: eventCapacity)
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue | EPOLLET.rawValue
        ev.data.fd = self.handle.wakeDescriptor
        let epfd = epollDescriptor, wakefd = self.handle.wakeDescriptor
        do {
            try checkedSyscall("epoll_ctl") { epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) }
        } catch {
            Posix.close(epfd)
            events.deallocate()
            throw error
        }
    }

    deinit {
        if !stopped { closeEverything() }
        events.deallocate()
    }

    /// Registers `descriptor` once for `IN | OUT | RDHUP | ET` (`epoll_ctl(EPOLL_CTL_ADD)`), routing
    /// its events to `handler`. The registration is never modified; see `EventHandler`.
    public func register(_ descriptor: FileDescriptor, _ handler: EventHandler) throws(SyscallError) {
        try add(descriptor, EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue, handler)
    }

    /// Registers a listening socket level-triggered, for input only (`EPOLLIN`): its handler
    /// accepts one connection per event, and a non-empty accept queue reports again at the
    /// next wait, so no `accept4` is spent learning the queue is empty. `setInputInterest`
    /// pauses and resumes it.
    public func registerListener(_ descriptor: FileDescriptor, _ handler: EventHandler) throws(SyscallError) {
        try add(descriptor, EPOLLIN.rawValue, handler)
    }

    /// Stops (`false`) or resumes (`true`) the events of a descriptor registered with
    /// `registerListener` (`epoll_ctl(EPOLL_CTL_MOD)`); a level-triggered listener left on while
    /// its handler cannot accept would wake the loop at once, again and again.
    public func setInputInterest(_ descriptor: FileDescriptor, _ on: Bool) {
        var ev = epoll_event()
        ev.events = on ? EPOLLIN.rawValue : 0
        ev.data.fd = descriptor.rawValue
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_MOD, descriptor.rawValue, &ev)
    }

    private func add(_ descriptor: FileDescriptor, _ events: UInt32, _ handler: EventHandler) throws(SyscallError) {
        guard !stopped else { throw SyscallError("epoll_ctl", errno: ESHUTDOWN) }
        let fd = descriptor.rawValue
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        let epfd = epollDescriptor
        try checkedSyscall("epoll_ctl") { epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) }
        if Int(fd) >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: max(Int(fd) + 1, handlers.count * 2) - handlers.count))
        }
        handlers[Int(fd)] = handler
        registeredCount += 1
    }

    /// Forgets `descriptor` (`epoll_ctl(EPOLL_CTL_DEL)`). Call before closing it.
    public func deregister(_ descriptor: FileDescriptor) {
        let fd = descriptor.rawValue
        guard Int(fd) < handlers.count, handlers[Int(fd)] != nil else { return }
        var ev = epoll_event()
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, fd, &ev)
        forgetClosing(descriptor)
    }

    /// Forgets `descriptor` without `epoll_ctl(EPOLL_CTL_DEL)`, saving that call, for a caller
    /// that closes it at once: closing the last reference to a socket takes it out of every
    /// epoll set. Only for descriptors never duplicated (`dup`, `fork`, `SCM_RIGHTS`); use
    /// `deregister` for anything else.
    public func forgetClosing(_ descriptor: FileDescriptor) {
        let fd = descriptor.rawValue
        guard Int(fd) < handlers.count, handlers[Int(fd)] != nil else { return }
        handlers[Int(fd)] = nil
        registeredCount -= 1
    }

    /// Whether `run()` has ended (or the loop was never run and is being torn down).
    public var isStopped: Bool { stopped }

    /// Descriptors registered right now (for diagnostics and tests).
    public var registeredDescriptors: [FileDescriptor] {
        handlers.indices.filter { handlers[$0] != nil }.map { FileDescriptor(rawValue: Int32($0)) }
    }

    /// Schedules `handler.timerFired` after `delay`.
    public func schedule(after delay: Duration, _ handler: TimerHandler) -> TimerID {
        timers.schedule(at: MonotonicClock.now() &+ MonotonicClock.nanoseconds(delay), handler)
    }

    /// Cancels a timer (no-op if it already fired).
    public func cancel(_ timer: TimerID) { timers.cancel(timer) }

    /// Asks to be told when the buffer pool has free slots again. The waiter is called once.
    public func waitForBuffers(_ waiter: BufferWaiter) {
        bufferWaiters.append(waiter)
    }

    /// Runs until `handle.stop()`: waits for events (`epoll_wait`), dispatches them, fires timers,
    /// runs submitted tasks. On return every handler has been told to close and is forgotten.
    public func run() {
        handle.setRunning(true)
        defer { handle.setRunning(false) }
        let wakefd = handle.wakeDescriptor
        let spin = MonotonicClock.nanoseconds(busyPoll)
        while !handle.isStopRequested {
            let timeout = waitTimeout()
            let n = spin > 0 && timeout != 0 ? spinThenWait(spin, timeout) : epoll_wait(epollDescriptor, events, Int32(eventCapacity), timeout)
            if n < 0 {
                if errno == EINTR { continue }
                fatalError("\(SyscallError("epoll_wait", errno: errno))")
            }
            now = MonotonicClock.now()
            var woken = false
            for i in 0..<Int(n) {
                let ev = events[i]
                let fd = ev.data.fd
                if fd == wakefd {
                    woken = true
                    continue
                }
                if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                    handler.handleEvents(IOEvents(rawValue: ev.events), descriptor: FileDescriptor(rawValue: fd))
                }
            }
            if timers.count > 0 { timers.advance(to: now) }
            if !bufferWaiters.isEmpty, bufferPool.hasFreeSlots { wakeBufferWaiters() }
            if woken {
                handle.drainWakeups()
                for task in handle.takeTasks() { task(self) }
            }
        }
        closeEverything()
    }

    /// `epoll_wait` with timeout 0 until events arrive or `spin` nanoseconds passed, then the
    /// ordinary blocking wait. Each empty poll is followed by `sched_yield()`, so a process
    /// runnable on this CPU (often the very peer the loop waits for) runs instead of the spin.
    private func spinThenWait(_ spin: UInt64, _ timeout: Int32) -> Int32 {
        let until = MonotonicClock.now() &+ spin
        repeat {
            let n = epoll_wait(epollDescriptor, events, Int32(eventCapacity), 0)
            if n != 0 {
                if n > 0 { busyPollHits += 1 }
                return n
            }
            sched_yield()
        } while MonotonicClock.now() < until
        return epoll_wait(epollDescriptor, events, Int32(eventCapacity), timeout)
    }

    private func waitTimeout() -> Int32 {
        if !bufferWaiters.isEmpty && bufferPool.hasFreeSlots { return 0 }
        guard let ns = timers.timeUntilNext(now: MonotonicClock.now()) else { return -1 }
        return Int32(min((ns + 999_999) / 1_000_000, 60_000))
    }

    private func wakeBufferWaiters() {
        let waiters = bufferWaiters
        bufferWaiters.removeAll(keepingCapacity: true)
        for w in waiters {
            guard bufferPool.hasFreeSlots else {
                bufferWaiters.append(w)
                continue
            }
            w.buffersAvailable()
        }
    }

    /// Tells every handler to close, forgets them, drops timers, waiters and queued tasks.
    private func closeEverything() {
        stopped = true
        var seen = Set<ObjectIdentifier>()
        for fd in handlers.indices {
            guard let h = handlers[fd] else { continue }
            var ev = epoll_event()
            _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, Int32(fd), &ev)
            if seen.insert(ObjectIdentifier(h)).inserted { h.loopStopping() }
        }
        handlers.removeAll()
        registeredCount = 0
        timers.removeAll()
        bufferWaiters.removeAll()
        _ = handle.takeTasks()
        Posix.close(epollDescriptor)
        epollDescriptor = -1
    }
}
