import Glibc
internal import CZestShims

/// A Unix-domain SOCK_SEQPACKET socket, the transport of ZDS: one protobuf message per
/// datagram, with file descriptors attached as SCM_RIGHTS ancillary data. Blocking calls
/// take a deadline and a `StopSignal`, so a thread blocked here can always be released.
public final class SeqpacketSocket: Sendable {
    public let file: OwnedDescriptor
    private var fd: Int32 { file.descriptor.rawValue }

    /// Largest datagram either side reads; ZDS messages are a few hundred bytes at most.
    public static let maxDatagram = 4096
    /// Most descriptors one received datagram may carry (`ZEST_MAX_PASSED_FDS`); beyond
    /// it the kernel closes the rest and flags the datagram `controlTruncated`.
    public static let maxPassedDescriptors = 16
    /// Most descriptors `send` attaches (the kernel's SCM_MAX_FD, `ZEST_MAX_SENT_FDS`).
    public static let maxSentDescriptors = 253

    private init(adopting fd: Int32) { file = OwnedDescriptor(adopting: fd) }

    /// One datagram as received, with the descriptors that came with it already owned.
    public struct Datagram: Sendable {
        public let bytes: [UInt8]
        public let descriptors: [OwnedDescriptor]
        /// The datagram was longer than `maxDatagram` (MSG_TRUNC).
        public let truncated: Bool
        /// Ancillary data did not fit and descriptors were dropped (MSG_CTRUNC).
        public let controlTruncated: Bool
    }

    public enum Received: Sendable {
        case datagram(Datagram)
        /// The peer closed the connection (recvmsg returned 0).
        case closed
        case timedOut
        case stopped
    }

    // MARK: - Connecting

    /// Connects to a listening socket (socket(2) + connect(2)).
    public static func connect(path: String) throws(ZdsSocketError) -> SeqpacketSocket {
        var address = try unixAddress(path)
        let s = SeqpacketSocket(adopting: try makeSocket())
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                retryingEINTR { Glibc.connect(s.fd, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        guard rc == 0 else { throw .connect(path: path, errno: errno) }
        return s
    }

    /// Binds and listens at `path` (socket(2), bind(2), listen(2)). A stale socket file
    /// left by a previous server is removed first; the parent directory is created.
    public static func listen(path: String, backlog: Int32 = 8) throws(ZdsSocketError) -> SeqpacketSocket {
        var address = try unixAddress(path)
        makeParentDirectory(of: path)
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
        let s = SeqpacketSocket(adopting: try makeSocket())
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(s.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw .bind(path: path, errno: errno) }
        guard Glibc.listen(s.fd, backlog) == 0 else { throw .call("listen", errno: errno) }
        return s
    }

    /// Waits for and accepts one connection (accept4(2) with SOCK_CLOEXEC). Returns nil
    /// when the deadline passes or `stop` fires first.
    public func accept(until deadline: ContinuousClock.Instant? = nil,
                       stop: StopSignal? = nil) throws(ZdsSocketError) -> SeqpacketSocket? {
        guard try waitReadable(until: deadline, stop: stop) else { return nil }
        let conn = retryingEINTR { zest_accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue)) }
        guard conn >= 0 else { throw .call("accept4", errno: errno) }
        return SeqpacketSocket(adopting: conn)
    }

    // MARK: - Datagrams

    /// Sends one datagram with `descriptors` attached as SCM_RIGHTS (sendmsg(2)).
    public func send(_ bytes: [UInt8], descriptors: [Int32] = []) throws(ZdsSocketError) {
        guard descriptors.count <= Self.maxSentDescriptors else {
            throw .tooManyDescriptors(descriptors.count)
        }
        let sent = bytes.withUnsafeBytes { buf in
            descriptors.withUnsafeBufferPointer { fds in
                retryingEINTR {
                    Int(zest_send_with_fds(fd, buf.baseAddress, buf.count, fds.baseAddress, Int32(fds.count)))
                }
            }
        }
        guard sent >= 0 else { throw .call("sendmsg", errno: errno) }
    }

    /// Receives one datagram (recvmsg(2) with MSG_CMSG_CLOEXEC), waiting until `deadline`
    /// (nil: forever) unless `stop` fires.
    public func receive(until deadline: ContinuousClock.Instant? = nil,
                        stop: StopSignal? = nil) throws(ZdsSocketError) -> Received {
        guard try waitReadable(until: deadline, stop: stop) else {
            return stop?.isStopped == true ? .stopped : .timedOut
        }
        var buffer = [UInt8](repeating: 0, count: Self.maxDatagram)
        var fds = [Int32](repeating: -1, count: Self.maxPassedDescriptors)
        var count: Int32 = 0
        var flags: Int32 = 0
        let n = buffer.withUnsafeMutableBytes { buf in
            fds.withUnsafeMutableBufferPointer { fdBuf in
                retryingEINTR {
                    Int(zest_recv_with_fds(fd, buf.baseAddress, buf.count, fdBuf.baseAddress,
                                           Int32(fdBuf.count), &count, &flags, zest_const_MSG_DONTWAIT()))
                }
            }
        }
        guard n >= 0 else {
            if errno == EAGAIN { return .timedOut }
            if errno == ECONNRESET { return .closed }
            throw .call("recvmsg", errno: errno)
        }
        let owned = fds.prefix(min(Int(count), Self.maxPassedDescriptors)).map(OwnedDescriptor.init(adopting:))
        if n == 0 && count == 0 { return .closed }
        return .datagram(Datagram(bytes: Array(buffer.prefix(min(n, Self.maxDatagram))),
                                  descriptors: owned,
                                  truncated: flags & zest_const_MSG_TRUNC() != 0,
                                  controlTruncated: flags & zest_const_MSG_CTRUNC() != 0))
    }

    /// Shuts both directions down (shutdown(2)), waking a peer blocked in receive.
    public func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    // MARK: - Helpers

    /// poll(2) on the socket and the stop signal. True when the socket is readable (or has
    /// an error or hang-up to report), false on deadline or stop. A deadline already past
    /// still polls once, without waiting.
    private func waitReadable(until deadline: ContinuousClock.Instant?,
                              stop: StopSignal?) throws(ZdsSocketError) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let stop { fds.append(pollfd(fd: stop.pollDescriptor, events: Int16(POLLIN), revents: 0)) }
        while true {
            if stop?.isStopped == true { return false }
            var timeout: Int32 = -1
            if let deadline { timeout = pollMilliseconds(ContinuousClock.now.duration(to: deadline)) }
            for i in fds.indices { fds[i].revents = 0 }
            let rc = poll(&fds, nfds_t(fds.count), timeout)
            if rc < 0 {
                if errno == EINTR { continue }
                throw .call("poll", errno: errno)
            }
            if fds[0].revents != 0 { return true }
            if let deadline, ContinuousClock.now >= deadline { return false }
        }
    }

    private static func makeSocket() throws(ZdsSocketError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .call("socket", errno: errno) }
        return fd
    }

    private static func unixAddress(_ path: String) throws(ZdsSocketError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw .badPath(path, limit: capacity - 1)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return address
    }

    private static func makeParentDirectory(of path: String) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/").dropLast() {
            prefix += "/" + component
            _ = mkdir(prefix, 0o755)
        }
    }
}

/// Runs a system call again while it fails with EINTR.
func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let r = call()
        if r >= 0 || errno != EINTR { return r }
    }
}
