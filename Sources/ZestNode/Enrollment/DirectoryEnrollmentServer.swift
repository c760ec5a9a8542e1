/// A minimal CNI agent for nodes without istio-cni, demos and tests (`zest cni serve`):
/// it serves the ZDS socket and keeps the connected node proxy's pods equal to a
/// directory of pod files. On each connection it sends every pod as `AddWorkload` (with
/// the netns opened from the file's path), then `SnapshotSent`; afterwards a new file or
/// a recreated namespace sends `AddWorkload`, a removed file `DelWorkload`. Each request
/// waits for its acknowledgement, which is logged.
public final class DirectoryEnrollmentServer: Sendable {
    public struct Configuration: Sendable {
        public var socketPath = "/var/run/ztunnel/ztunnel.sock"
        public var podsDirectory = "/run/zest/pods"
        /// How often the directory is read again.
        public var scanInterval: Duration = .milliseconds(200)
        /// How long to wait for the node proxy's hello and for each acknowledgement.
        public var ackTimeout: Duration = .seconds(10)
        public var log: @Sendable (String) -> Void = { print($0) }

        public init() {}
    }

    /// What the node proxy was told about one pod.
    private struct Sent {
        var pod: PodFile
        var netns: NamespaceIdentity
    }

    public let configuration: Configuration
    private let server: ZdsServer

    /// Listens on the socket at once, so a node proxy can connect before `run` starts.
    public init(configuration: Configuration) throws(ZdsSocketError) {
        self.configuration = configuration
        self.server = try ZdsServer(path: configuration.socketPath)
    }

    /// Serves node proxies, one connection at a time, until `stop` fires.
    public func run(stop: StopSignal) {
        let directory = PodDirectory(path: configuration.podsDirectory)
        var reported: [String: String] = [:]
        configuration.log("serving ZDS on \(configuration.socketPath); pods from \(directory.path)")
        while !stop.isStopped {
            let connection: ZdsServerConnection
            do {
                guard let c = try server.accept(until: .now + configuration.scanInterval, stop: stop) else { continue }
                _ = try c.receiveHello(until: .now + configuration.ackTimeout)
                connection = c
            } catch {
                configuration.log("connection rejected: \(error)")
                continue
            }
            configuration.log("node proxy connected; sending snapshot")
            do {
                try serve(connection, directory: directory, reported: &reported, stop: stop)
            } catch {
                configuration.log("connection ended: \(error)")
            }
            connection.close()
        }
        server.close()
    }

    private func serve(_ connection: ZdsServerConnection, directory: PodDirectory,
                       reported: inout [String: String], stop: StopSignal) throws {
        var sent: [PodUID: Sent] = [:]
        try reconcile(connection, directory: directory, sent: &sent, reported: &reported)
        log(.snapshotSent, try connection.send(.snapshotSent, until: .now + configuration.ackTimeout))
        while !stop.isStopped {
            switch try connection.socket.receive(until: .now + configuration.scanInterval, stop: stop) {
            case .closed:
                configuration.log("node proxy disconnected")
                return
            case .datagram(let d):
                configuration.log("ignoring an unsolicited \(d.bytes.count)-byte message from the node proxy")
            case .timedOut, .stopped:
                break
            }
            if stop.isStopped { return }
            try reconcile(connection, directory: directory, sent: &sent, reported: &reported)
        }
    }

    /// Sends what makes the node proxy's pods equal to the directory: deletes first, then adds.
    private func reconcile(_ connection: ZdsServerConnection, directory: PodDirectory,
                           sent: inout [PodUID: Sent], reported: inout [String: String]) throws {
        let scan = directory.scan()
        for (file, error) in scan.errors where reported[file] != error {
            configuration.log(error)
            reported[file] = error
        }
        for uid in sent.keys.sorted() where scan.pods[uid] == nil {
            log(.delete(uid: uid), try connection.send(.delete(uid: uid), until: .now + configuration.ackTimeout))
            sent[uid] = nil
        }
        for (uid, pod) in scan.pods.sorted(by: { $0.key < $1.key }) {
            // stat(2) every scan, open(2) only to send: the namespace is re-sent when the
            // file changes or its path now names another namespace (sandbox recreated).
            let key = "netns:" + uid.rawValue
            let netns: NetNamespaceHandle
            do {
                let identity = try NetNamespaceHandle.identity(atPath: pod.netnsPath)
                if let previous = sent[uid], previous.pod == pod, previous.netns == identity { continue }
                netns = try NetNamespaceHandle.open(path: pod.netnsPath)
                reported[key] = nil
            } catch {
                let text = "pod \(uid) (\(pod.info)): \(error)"
                if reported[key] != text { configuration.log(text) }
                reported[key] = text
                continue
            }
            let request = WorkloadRequest.add(uid: uid, info: pod.info)
            log(request, try connection.send(request, netns: netns, until: .now + configuration.ackTimeout))
            sent[uid] = Sent(pod: pod, netns: netns.identity)
        }
    }

    private func log(_ request: WorkloadRequest, _ response: WorkloadResponse) {
        let subject: String
        switch request {
        case .add(let uid, let info): subject = "AddWorkload \(uid) \(info.map { "\($0)" } ?? "")"
        case .keep(let uid): subject = "KeepWorkload \(uid)"
        case .delete(let uid): subject = "DelWorkload \(uid)"
        case .snapshotSent: subject = "SnapshotSent"
        }
        configuration.log(response.isAck ? "\(subject): ACK" : "\(subject): NACK \(response.error)")
    }
}
