/// The CNI agent's side of ZDS, for nodes without istio-cni, demos and tests: it listens
/// on the socket, accepts the node proxy's connection, and sends it requests, one at a
/// time, each waiting for its acknowledgement (as istio-cni does).
public final class ZdsServer: Sendable {
    public let path: String
    private let listener: SeqpacketSocket

    /// Listens at `path` (a stale socket file there is replaced).
    public init(path: String) throws(ZdsSocketError) {
        self.path = path
        self.listener = try SeqpacketSocket.listen(path: path)
    }

    /// Accepts the next node proxy; nil when the deadline passes or `stop` fires first.
    public func accept(until deadline: ContinuousClock.Instant? = nil,
                       stop: StopSignal? = nil) throws(ZdsSocketError) -> ZdsServerConnection? {
        guard let socket = try listener.accept(until: deadline, stop: stop) else { return nil }
        return ZdsServerConnection(socket: socket)
    }

    /// Stops listening (the socket file stays until the next server replaces it).
    public func close() { listener.file.close() }
}

/// One accepted connection from a node proxy.
public final class ZdsServerConnection: Sendable {
    public let socket: SeqpacketSocket

    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        case socket(ZdsSocketError)
        case decode(ZdsDecodeError)
        case closed(expecting: String)
        case timedOut(expecting: String)
        case unexpectedDescriptors(Int)
        case unsupportedVersion(Int32)

        public var description: String {
            switch self {
            case .socket(let e): return "\(e)"
            case .decode(let e): return "the node proxy sent \(e)"
            case .closed(let what): return "the node proxy closed the connection while Zest waited for \(what)"
            case .timedOut(let what): return "the node proxy did not send \(what) in time"
            case .unexpectedDescriptors(let n): return "the node proxy attached \(n) descriptors to a message that carries none"
            case .unsupportedVersion(let v): return "the node proxy speaks ZDS version \(v); this server speaks version 1"
            }
        }
    }

    init(socket: SeqpacketSocket) { self.socket = socket }

    /// Reads the node proxy's `ZdsHello` and checks it asks for version 1.
    public func receiveHello(until deadline: ContinuousClock.Instant?) throws(Error) -> ZdsHello {
        let bytes = try receiveMessage(until: deadline, expecting: "ZdsHello")
        let hello: ZdsHello
        do { hello = try ZdsHello(decoding: bytes) } catch { throw .decode(error) }
        guard hello.version == ZdsHello.v1.version else { throw .unsupportedVersion(hello.version) }
        return hello
    }

    /// Sends one request, with the pod's netns descriptor for `AddWorkload`, and waits for
    /// its acknowledgement.
    public func send(_ request: WorkloadRequest, netns: NetNamespaceHandle? = nil,
                     until deadline: ContinuousClock.Instant?) throws(Error) -> WorkloadResponse {
        try sendRaw(request.encoded(), descriptors: netns.map { [$0.file.descriptor.rawValue] } ?? [])
        return try receiveResponse(until: deadline)
    }

    /// Sends arbitrary bytes and descriptors, for tests of a peer's error handling.
    public func sendRaw(_ bytes: [UInt8], descriptors: [Int32]) throws(Error) {
        do { try socket.send(bytes, descriptors: descriptors) } catch { throw .socket(error) }
    }

    /// Waits for the node proxy's answer to the last request.
    public func receiveResponse(until deadline: ContinuousClock.Instant?) throws(Error) -> WorkloadResponse {
        let bytes = try receiveMessage(until: deadline, expecting: "an acknowledgement")
        do { return try WorkloadResponse(decoding: bytes) } catch { throw .decode(error) }
    }

    public func close() { socket.file.close() }

    private func receiveMessage(until deadline: ContinuousClock.Instant?, expecting what: String) throws(Error) -> [UInt8] {
        let received: SeqpacketSocket.Received
        do { received = try socket.receive(until: deadline) } catch { throw .socket(error) }
        switch received {
        case .datagram(let d):
            guard d.descriptors.isEmpty else { throw .unexpectedDescriptors(d.descriptors.count) }
            return d.bytes
        case .closed: throw .closed(expecting: what)
        case .timedOut, .stopped: throw .timedOut(expecting: what)
        }
    }
}
