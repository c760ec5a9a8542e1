import Glibc
import Synchronization

/// Where log lines go: a bounded queue drained by a writer thread into a file descriptor.
///
/// Callers (workers included) only format the line and append it to the queue, which is
/// the cost of a short mutex hold; the `write(2)` happens on the writer thread. The queue is
/// non-lossy, as ztunnel's writer is: when `capacity` lines are waiting, a logging caller
/// waits for room (back-pressure) rather than dropping lines.
public final class LogSink: Sendable {
    private let queue: LogQueue
    private let writer: Mutex<ServerThread?>

    /// Starts the writer thread for `fd` (which the sink does not close). ztunnel buffers 128,000 lines.
    public init(fd: Int32 = 2, capacity: Int = 128_000) {
        let q = LogQueue(fd: fd, capacity: max(1, capacity))
        queue = q
        writer = Mutex(ServerThread { q.drain() })
    }

    /// Queues one line (a trailing newline is added). Waits while the queue is full.
    public func write(_ line: String) {
        queue.append(line)
    }

    /// Waits until every line queued so far has been written.
    public func flush() {
        queue.flush()
    }

    /// Writes what is queued, then stops the writer thread. Later lines are discarded.
    public func close() {
        queue.flush()
        queue.stop()
        writer.withLock { t -> ServerThread? in defer { t = nil }; return t }?.join()
    }

    deinit {
        close()
    }
}

/// The queue behind `LogSink`, shared with its writer thread.
final class LogQueue: @unchecked Sendable {
    // @unchecked: every mutable field is read and written only with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var lines: [[UInt8]] = []
    private var writing = false
    private var stopped = false
    private let capacity: Int
    private let fd: Int32

    init(fd: Int32, capacity: Int) {
        self.fd = fd
        self.capacity = capacity
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    func append(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(10)
        pthread_mutex_lock(mutex)
        while lines.count >= capacity && !stopped {
            pthread_cond_wait(changed, mutex)
        }
        if !stopped {
            lines.append(bytes)
            pthread_cond_broadcast(changed)
        }
        pthread_mutex_unlock(mutex)
    }

    func flush() {
        pthread_mutex_lock(mutex)
        while (!lines.isEmpty || writing) && !stopped {
            pthread_cond_wait(changed, mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// The writer thread's loop: take everything queued, write it outside the lock, repeat.
    func drain() {
        pthread_mutex_lock(mutex)
        while true {
            while lines.isEmpty && !stopped {
                pthread_cond_wait(changed, mutex)
            }
            if lines.isEmpty && stopped { break }
            let batch = lines
            lines.removeAll(keepingCapacity: true)
            writing = true
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
            var bytes: [UInt8] = []
            for line in batch { bytes += line }
            writeAll(bytes)
            pthread_mutex_lock(mutex)
            writing = false
            pthread_cond_broadcast(changed)
        }
        pthread_mutex_unlock(mutex)
    }

    private func writeAll(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n > 0 { off += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 1000)
                continue
            }
            return
        }
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }
}
