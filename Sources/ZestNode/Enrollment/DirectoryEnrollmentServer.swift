import Glibc

/// A minimal CNI agent for nodes without istio-cni, demos and tests (`zest cni serve`):
/// it serves the ZDS socket and keeps the node proxy's pods equal to a directory of pod
/// files. Like istio-cni's ztunnel server:
///
/// - each new connection gets a snapshot: every pod as `AddWorkload` (netns opened from
///   the file's path), or `KeepWorkload` when its netns cannot be opened, then `SnapshotSent`;
/// - new pods (and pods whose namespace was recreated) go to the newest connection only,
///   so during an upgrade the new node proxy takes over; removed pods go to every
///   connection that was told about them;
/// - each request waits for its acknowledgement, which is logged, and the newest proxy's
///   answer for each pod is recorded in the directory (`PodDirectory.acknowledgement`).
public final class DirectoryEnrollmentServer: Sendable {
    public struct Configuration: Sendable {
        public var socketPath = "/var/run/ztunnel/ztunnel.sock"
        public var podsDirectory = "/run/zest/pods"
        /// How often the directory is read again and connections are checked.
        public var scanInterval: Duration = .milliseconds(200)
        /// How long to wait for a node proxy's hello and for each acknowledgement
        /// (istio-cni: 5 s).
        public var ackTimeout: Duration = .seconds(5)
        public var log: @Sendable (String) -> Void = { print($0) }

        public init() {}
    }

    public let configuration: Configuration
    private let server: ZdsServer

    /// Listens on the socket at once, so a node proxy can connect before `run` starts.
    public init(configuration: Configuration) throws(ZdsSocketError) {
        self.configuration = configuration
        self.server = try ZdsServer(path: configuration.socketPath)
    }

    /// One connected node proxy and what it was told.
    private final class Peer {
        let connection: ZdsServerConnection
        let number: Int
        var sent: [PodUID: (pod: PodFile, netns: NamespaceIdentity?, response: WorkloadResponse)] = [:]
        /// Pods whose current answer is recorded in the directory.
        var recorded: Set<PodUID> = []
        init(_ connection: ZdsServerConnection, number: Int) {
            self.connection = connection
            self.number = number
        }
    }

    /// Serves node proxies until `stop` fires, then closes every connection and the socket.
    public func run(stop: StopSignal) {
        let directory = PodDirectory(path: configuration.podsDirectory)
        var peers: [Peer] = []
        var accepted = 0
        var reported: [String: String] = [:]
        configuration.log("serving ZDS on \(configuration.socketPath); pods from \(directory.path)")
        while !stop.isStopped {
            var newcomer: Peer?
            do {
                if let c = try server.accept(until: .now + configuration.scanInterval, stop: stop) {
                    accepted += 1
                    _ = try c.receiveHello(until: .now + configuration.ackTimeout)
                    newcomer = Peer(c, number: accepted)
                    configuration.log("node proxy #\(accepted) connected; sending snapshot")
                }
            } catch {
                configuration.log("connection rejected: \(error)")
            }
            if stop.isStopped { break }
            peers = peers.filter(isAlive)
            let scan = directory.scan()
            for (file, error) in scan.errors where reported[file] != error {
                configuration.log(error)
                reported[file] = error
            }
            if let newcomer {
                peers.append(newcomer)
                attempt(newcomer) { try sendSnapshot(scan, to: newcomer, reported: &reported) }
            }
            for peer in peers { attempt(peer) { try sendDeletions(scan, to: peer) } }
            if let newest = peers.last { attempt(newest) { try sendAdditions(scan, to: newest, reported: &reported) } }
            peers = peers.filter { $0.connection.socket.file.isOpen }
            recordAcknowledgements(of: peers.last, scan: scan, in: directory)
        }
        peers.forEach { $0.connection.close() }
        server.close()
    }

    // MARK: - Requests

    private func sendSnapshot(_ scan: PodDirectory.Scan, to peer: Peer, reported: inout [String: String]) throws {
        for (uid, pod) in scan.pods.sorted(by: { $0.key < $1.key }) {
            if let netns = openNamespace(uid, pod, reported: &reported) {
                peer.sent[uid] = (pod, netns.identity, try send(.add(uid: uid, info: pod.info), netns: netns, to: peer))
            } else {
                peer.sent[uid] = (pod, nil, try send(.keep(uid: uid), to: peer))
            }
        }
        try send(.snapshotSent, to: peer)
    }

    private func sendDeletions(_ scan: PodDirectory.Scan, to peer: Peer) throws {
        for uid in peer.sent.keys.sorted() where scan.pods[uid] == nil {
            try send(.delete(uid: uid), to: peer)
            peer.sent[uid] = nil
        }
    }

    /// Sends pods that are new, whose file changed, or whose netns path now names another
    /// namespace (sandbox recreated). stat(2) every scan, open(2) only to send.
    private func sendAdditions(_ scan: PodDirectory.Scan, to peer: Peer, reported: inout [String: String]) throws {
        for (uid, pod) in scan.pods.sorted(by: { $0.key < $1.key }) {
            let identity = try? NetNamespaceHandle.identity(atPath: pod.netnsPath)
            if let previous = peer.sent[uid], previous.pod == pod, identity == nil || previous.netns == identity { continue }
            guard let netns = openNamespace(uid, pod, reported: &reported) else { continue }
            peer.sent[uid] = (pod, netns.identity, try send(.add(uid: uid, info: pod.info), netns: netns, to: peer))
            peer.recorded.remove(uid)
        }
    }

    private func openNamespace(_ uid: PodUID, _ pod: PodFile, reported: inout [String: String]) -> NetNamespaceHandle? {
        let key = "netns:" + uid.rawValue
        do {
            let netns = try NetNamespaceHandle.open(path: pod.netnsPath)
            reported[key] = nil
            return netns
        } catch {
            let text = "pod \(uid) (\(pod.info)): \(error)"
            if reported[key] != text { configuration.log(text) }
            reported[key] = text
            return nil
        }
    }

    /// Keeps the directory's acknowledgement files equal to the newest proxy's answers:
    /// written when an answer is new or its file was removed (by `zest cni add --wait`),
    /// removed with the pod.
    private func recordAcknowledgements(of newest: Peer?, scan: PodDirectory.Scan, in directory: PodDirectory) {
        for uid in directory.acknowledgedUIDs() where scan.pods[uid] == nil { directory.clearAcknowledgement(for: uid) }
        guard let newest else { return }
        for (uid, entry) in newest.sent {
            if newest.recorded.contains(uid), access(directory.acknowledgementFile(for: uid), F_OK) == 0 { continue }
            do {
                try directory.recordAcknowledgement(entry.response, for: uid)
                newest.recorded.insert(uid)
            } catch {
                configuration.log("cannot record the answer for \(uid): \(error)")
            }
        }
    }

    @discardableResult
    private func send(_ request: WorkloadRequest, netns: NetNamespaceHandle? = nil, to peer: Peer) throws -> WorkloadResponse {
        let response = try peer.connection.send(request, netns: netns, until: .now + configuration.ackTimeout)
        let subject: String
        switch request {
        case .add(let uid, let info): subject = "AddWorkload \(uid) \(info.map { "\($0)" } ?? "")"
        case .keep(let uid): subject = "KeepWorkload \(uid)"
        case .delete(let uid): subject = "DelWorkload \(uid)"
        case .snapshotSent: subject = "SnapshotSent"
        }
        let prefix = peer.number > 1 ? "node proxy #\(peer.number): " : ""
        configuration.log(prefix + (response.isAck ? "\(subject): ACK" : "\(subject): NACK \(response.error)"))
        return response
    }

    // MARK: - Connections

    /// Runs `body`; a failure (timeout, closed connection) ends that peer's connection only.
    private func attempt(_ peer: Peer, _ body: () throws -> Void) {
        guard peer.connection.socket.file.isOpen else { return }
        do { try body() } catch {
            configuration.log("node proxy #\(peer.number): \(error); closing its connection")
            peer.connection.close()
        }
    }

    /// A node proxy sends nothing unprompted, so a readable connection has closed (or
    /// broken the protocol); a poll with no wait tells which.
    private func isAlive(_ peer: Peer) -> Bool {
        let received = try? peer.connection.socket.receive(until: .now)
        switch received {
        case .timedOut?, .stopped?:
            return true
        case .datagram?:
            configuration.log("node proxy #\(peer.number) sent an unsolicited message; closing its connection")
        case .closed?, nil:
            configuration.log("node proxy #\(peer.number) disconnected")
        }
        peer.connection.close()
        return false
    }
}
