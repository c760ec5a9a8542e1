import Foundation
import Synchronization

/// What the enrollment client knows, for readiness, the admin endpoint and tests.
public struct EnrollmentStatus: Sendable, Equatable {
    /// Connected to the CNI agent and the hello was sent.
    public var connected = false
    /// The current connection's snapshot has ended (`SnapshotSent` received).
    public var snapshotReceived = false
    /// Pods served now, by uid.
    public var enrolled: [PodUID: WorkloadInfo] = [:]
    /// Pods whose enrollment failed and is being retried, with the last error.
    public var pending: [PodUID: String] = [:]
    /// Pods enrolled and removed since start (ztunnel's `workload_manager_proxies_started_total`
    /// and `…_stopped_total`).
    public var started = 0
    public var stopped = 0
    /// Connections established since start.
    public var connections = 0
    /// Requests answered with a NACK since start.
    public var nacks = 0
    /// The last connection or protocol problem, for operators.
    public var lastError: String?

    /// Ready as ztunnel defines it: the snapshot was received and nothing is pending.
    public var isReady: Bool { snapshotReceived && pending.isEmpty }
}

/// The node proxy's ZDS client: connects to the CNI agent's socket, says hello, answers
/// every request through `EnrollmentState`, and reconnects with capped backoff when the
/// connection drops. Runs on its own thread; the delegate is called from that thread.
public final class ZdsClient: Sendable {
    public struct Configuration: Sendable {
        /// The CNI agent's socket (ztunnel's `INPOD_UDS` default).
        public var socketPath = "/var/run/ztunnel/ztunnel.sock"
        public var backoff = Backoff()
        /// How often failed enrollments are retried (ztunnel: 5 s).
        public var retryInterval: Duration = .seconds(5)
        /// Receives one line per event worth an operator's attention.
        public var log: @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data("zds: \(line)\n".utf8))
        }

        public init(socketPath: String = "/var/run/ztunnel/ztunnel.sock") {
            self.socketPath = socketPath
        }
    }

    public let configuration: Configuration
    private let delegate: any EnrollmentDelegate
    private let stopSignal = StopSignal()
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic(false)
    private let state = Mutex(EnrollmentStatus())

    public init(configuration: Configuration, delegate: any EnrollmentDelegate) {
        self.configuration = configuration
        self.delegate = delegate
    }

    /// A copy of the current status.
    public var status: EnrollmentStatus { state.withLock { $0 } }

    /// Starts the client thread. Calling it twice does nothing; the thread (and this
    /// client) lives until `stop()`.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "zest-zds"
        thread.start()
    }

    /// Stops the client and waits for its thread to end. Enrolled pods stay enrolled:
    /// what happens to them on shutdown is the drain logic's decision, not the protocol's.
    public func stop() {
        stopSignal.stop()
        if started.load(ordering: .acquiring) { finished.wait(); finished.signal() }
    }

    // MARK: - Client thread

    private func run() {
        let machine = EnrollmentState(delegate: delegate)
        var backoff = configuration.backoff
        var lastConnectError: String?
        while !stopSignal.isStopped {
            let socket: SeqpacketSocket
            do {
                socket = try SeqpacketSocket.connect(path: configuration.socketPath)
            } catch {
                let text = "\(error)"
                if text != lastConnectError { configuration.log(text) }
                lastConnectError = text
                state.withLock { $0.lastError = text }
                stopSignal.sleep(backoff.next())
                continue
            }
            lastConnectError = nil
            do {
                machine.connectionStarted()
                state.withLock { $0.connected = true; $0.connections += 1 }
                publish(machine)
                try socket.send(ZdsHello.v1.encoded())
                configuration.log("connected to \(configuration.socketPath); sent ZdsHello v1")
                try serve(socket, machine, &backoff)
            } catch {
                configuration.log("\(error)")
                state.withLock { $0.lastError = "\(error)" }
            }
            state.withLock { $0.connected = false }
            if !stopSignal.isStopped { stopSignal.sleep(backoff.next()) }
        }
    }

    /// Answers requests until the peer closes the connection or the client stops.
    private func serve(_ socket: SeqpacketSocket, _ machine: EnrollmentState,
                       _ backoff: inout Backoff) throws(ZdsSocketError) {
        var nextRetry = ContinuousClock.now + configuration.retryInterval
        while true {
            let deadline: ContinuousClock.Instant? = machine.pending.isEmpty ? nil : nextRetry
            switch try socket.receive(until: deadline, stop: stopSignal) {
            case .datagram(let d):
                let response = machine.handle(d)
                if !response.isAck {
                    configuration.log("NACK: \(response.error)")
                    state.withLock { $0.nacks += 1; $0.lastError = response.error }
                }
                // Only a connection that delivered a whole snapshot counts as healthy;
                // a peer that accepts and hangs up at once keeps the backoff growing.
                if machine.snapshotReceived { backoff.reset() }
                publish(machine)
                try socket.send(response.encoded())
            case .timedOut:
                machine.retryPending()
                nextRetry = ContinuousClock.now + configuration.retryInterval
                publish(machine)
            case .closed:
                configuration.log("the CNI agent closed the ZDS connection; reconnecting")
                return
            case .stopped:
                return
            }
        }
    }

    private func publish(_ machine: EnrollmentState) {
        let enrolled = machine.enrolled.mapValues(\.info)
        let pending = machine.pending.mapValues(\.lastError)
        let snapshot = machine.snapshotReceived
        let (started, stopped) = (machine.started, machine.stopped)
        state.withLock {
            $0.enrolled = enrolled
            $0.pending = pending
            $0.snapshotReceived = snapshot
            $0.started = started
            $0.stopped = stopped
        }
    }
}
