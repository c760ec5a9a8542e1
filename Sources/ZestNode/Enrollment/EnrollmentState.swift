/// The node proxy's side of ZDS as a state machine over requests, independent of sockets:
/// it validates each request (descriptor count, required fields, ordering), drives the
/// `EnrollmentDelegate` and returns the acknowledgement to send. Semantics follow
/// ztunnel's in-pod state manager (ZTUNNEL-REFERENCE §5.2):
///
/// - each connection starts a snapshot: `AddWorkload` and `KeepWorkload` announce pods,
///   `DelWorkload` withdraws one, and `SnapshotSent` removes every pod Zest serves that
///   was not announced on this connection;
/// - after the snapshot only `AddWorkload` and `DelWorkload` are valid;
/// - `AddWorkload` for a pod already served in the same netns changes nothing; in a
///   different netns (sandbox recreated) the old one is removed and the new one enrolled;
/// - a failed enrollment is NACKed and kept pending, to be retried by `retryPending()`.
///
/// Unlike ztunnel, which exits on a protocol violation, Zest NACKs it with the reason
/// and carries on: a confused peer must not take every pod's traffic down with it.
final class EnrollmentState {
    struct Enrolled {
        var info: WorkloadInfo
        var netns: NamespaceIdentity
    }

    struct Pending {
        var info: WorkloadInfo
        var netns: NetNamespaceHandle
        var lastError: String
    }

    private let delegate: any EnrollmentDelegate
    private(set) var enrolled: [PodUID: Enrolled] = [:]
    private(set) var pending: [PodUID: Pending] = [:]
    private var announced: Set<PodUID> = []
    private(set) var snapshotReceived = false
    /// Pods enrolled and removed since start (ztunnel's proxies_started/stopped_total).
    private(set) var started = 0
    private(set) var stopped = 0

    init(delegate: any EnrollmentDelegate) { self.delegate = delegate }

    /// A new connection to the CNI agent: a new snapshot begins.
    func connectionStarted() {
        announced = []
        snapshotReceived = false
    }

    /// Handles one datagram: decodes it, checks its descriptors and applies it. Every
    /// descriptor that arrived is either handed to the delegate or closed before returning.
    func handle(_ datagram: SeqpacketSocket.Datagram) -> WorkloadResponse {
        let descriptors = datagram.descriptors
        var handedOver: OwnedDescriptor?
        defer { descriptors.forEach { if $0 !== handedOver { $0.close() } } }
        if datagram.truncated {
            return nack("message longer than \(SeqpacketSocket.maxDatagram) bytes was truncated; ZDS messages are small, is the peer speaking ZDS?")
        }
        if datagram.controlTruncated {
            return nack("ancillary data was truncated (over \(SeqpacketSocket.maxPassedDescriptors) descriptors?); AddWorkload must carry exactly one netns descriptor")
        }
        let request: WorkloadRequest
        do {
            request = try WorkloadRequest(decoding: datagram.bytes)
        } catch {
            return nack("\(error)")
        }
        if case .add = request {
            guard descriptors.count == 1, let fd = descriptors.first else {
                return nack("AddWorkload must carry exactly one netns descriptor (SCM_RIGHTS), got \(descriptors.count)")
            }
            handedOver = fd
            return apply(request, netns: fd)
        }
        guard descriptors.isEmpty else {
            return nack("\(request.kind) must carry no descriptors, got \(descriptors.count)")
        }
        return apply(request, netns: nil)
    }

    /// Applies a decoded request whose descriptor count was already checked; takes
    /// ownership of `fd`, which is closed unless a pod's namespace handle keeps it.
    private func apply(_ request: WorkloadRequest, netns fd: OwnedDescriptor?) -> WorkloadResponse {
        switch request {
        case .add(let uid, let info):
            guard let fd else { return nack("AddWorkload for \(uid) carries no netns descriptor") }
            guard !uid.rawValue.isEmpty else { fd.close(); return nack("AddWorkload has an empty uid") }
            guard let info else { fd.close(); return nack("AddWorkload for \(uid) has no workload_info") }
            let handle: NetNamespaceHandle
            do {
                handle = try NetNamespaceHandle(fd)
            } catch {
                fd.close()
                return nack("AddWorkload for \(uid): \(error)")
            }
            return add(uid, info: info, netns: handle)
        case .keep(let uid):
            guard !snapshotReceived else {
                return nack("KeepWorkload for \(uid) after SnapshotSent; keep is only valid during a snapshot")
            }
            guard !uid.rawValue.isEmpty else { return nack("KeepWorkload has an empty uid") }
            announced.insert(uid)
            if enrolled[uid] != nil { delegate.keep(uid) }
            return .ack
        case .delete(let uid):
            guard !uid.rawValue.isEmpty else { return nack("DelWorkload has an empty uid") }
            announced.remove(uid)
            pending[uid] = nil
            if enrolled[uid] != nil { remove(uid) }
            return .ack
        case .snapshotSent:
            guard !snapshotReceived else { return nack("second SnapshotSent on one connection") }
            for uid in enrolled.keys.sorted() where !announced.contains(uid) { remove(uid) }
            pending = pending.filter { announced.contains($0.key) }
            snapshotReceived = true
            delegate.snapshotComplete()
            return .ack
        }
    }

    /// Tries every pending enrollment again; returns how many succeeded.
    @discardableResult
    func retryPending() -> Int {
        var succeeded = 0
        for (uid, p) in pending.sorted(by: { $0.key < $1.key }) {
            do {
                try delegate.enroll(uid, info: p.info, netns: p.netns)
                pending[uid] = nil
                enrolled[uid] = Enrolled(info: p.info, netns: p.netns.identity)
                started += 1
                succeeded += 1
            } catch {
                pending[uid]?.lastError = "\(error)"
            }
        }
        return succeeded
    }

    private func add(_ uid: PodUID, info: WorkloadInfo, netns: NetNamespaceHandle) -> WorkloadResponse {
        if !snapshotReceived { announced.insert(uid) }
        if let current = enrolled[uid] {
            if current.netns == netns.identity {
                enrolled[uid]?.info = info
                return .ack
            }
            remove(uid)
        }
        pending[uid] = nil
        do {
            try delegate.enroll(uid, info: info, netns: netns)
        } catch {
            pending[uid] = Pending(info: info, netns: netns, lastError: "\(error)")
            return nack("enrolling \(uid) (\(info)) failed: \(error); Zest will retry")
        }
        enrolled[uid] = Enrolled(info: info, netns: netns.identity)
        started += 1
        return .ack
    }

    private func remove(_ uid: PodUID) {
        enrolled[uid] = nil
        stopped += 1
        delegate.remove(uid)
    }

    /// istio-cni reads each response into a 1,024-byte buffer and treats a truncated one
    /// as a broken connection, so NACK text is cut to fit with room for the framing.
    static let maxNackBytes = 1000

    private func nack(_ reason: String) -> WorkloadResponse {
        guard reason.utf8.count > Self.maxNackBytes else { return WorkloadResponse(error: reason) }
        var cut = ""
        for c in reason {
            guard cut.utf8.count + c.utf8.count <= Self.maxNackBytes - 3 else { break }
            cut.append(c)
        }
        return WorkloadResponse(error: cut + "...")
    }
}
