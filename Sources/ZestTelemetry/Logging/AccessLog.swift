import ZestCore

/// One completed connection, with ztunnel's access-log field names (`src.addr`,
/// `src.workload`, `src.namespace`, `src.identity`, `dst.addr`, `dst.hbone_addr`,
/// `dst.service`, `dst.workload`, `dst.namespace`, `dst.identity`, `direction`,
/// `bytes_sent`, `bytes_recv`, `duration`, `error`).
public struct AccessLogEntry: Sendable {
    public enum Direction: String, Sendable { case inbound, outbound }

    public var sourceAddress: SocketAddress
    public var sourceWorkload: String?
    public var sourceNamespace: String?
    /// Only when the peer was authenticated by mTLS.
    public var sourceIdentity: SpiffeID?
    public var sourceCluster: String?
    /// The actual L4 peer (e.g. `pod:15008` for HBONE).
    public var destinationAddress: SocketAddress
    /// The CONNECT authority, for HBONE.
    public var destinationHBONEAddress: SocketAddress?
    public var destinationService: String?
    public var destinationWorkload: String?
    public var destinationNamespace: String?
    public var destinationIdentity: SpiffeID?
    public var destinationCluster: String?
    public var direction: Direction
    /// Bytes this proxy sent to the client side and received from it (the reporter's view).
    public var bytesSent: UInt64
    public var bytesReceived: UInt64
    public var duration: Duration
    /// Why the connection failed; nil for a clean completion.
    public var error: String?

    public init(source: SocketAddress, destination: SocketAddress, direction: Direction,
                bytesSent: UInt64 = 0, bytesReceived: UInt64 = 0, duration: Duration = .zero, error: String? = nil) {
        sourceAddress = source
        destinationAddress = destination
        self.direction = direction
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.duration = duration
        self.error = error
    }

    /// The fields in ztunnel's order; absent optional fields are left out.
    public var fields: [LogField] {
        var f: [LogField] = [LogField("src.addr", .bare(sourceAddress.description))]
        func opt(_ name: String, _ v: String?) { if let v, !v.isEmpty { f.append(LogField(name, v)) } }
        opt("src.workload", sourceWorkload)
        opt("src.namespace", sourceNamespace)
        opt("src.identity", sourceIdentity?.uri)
        opt("src.cluster", sourceCluster)
        f.append(LogField("dst.addr", .bare(destinationAddress.description)))
        if let h = destinationHBONEAddress { f.append(LogField("dst.hbone_addr", .bare(h.description))) }
        opt("dst.service", destinationService)
        opt("dst.workload", destinationWorkload)
        opt("dst.namespace", destinationNamespace)
        opt("dst.identity", destinationIdentity?.uri)
        opt("dst.cluster", destinationCluster)
        f.append(LogField("direction", direction.rawValue))
        f.append(LogField("bytes_sent", .int(Int64(clamping: bytesSent))))
        f.append(LogField("bytes_recv", .int(Int64(clamping: bytesReceived))))
        f.append(LogField("duration", Self.format(duration)))
        opt("error", error)
        return f
    }

    /// `13ms`, as ztunnel writes durations in the access log.
    static func format(_ d: Duration) -> String {
        let (s, atto) = d.components
        return "\(s * 1000 + atto / 1_000_000_000_000_000)ms"
    }
}

/// Writes the access log: target `access`, one line per completed connection — INFO
/// "connection complete", or ERROR with `error=` when it failed.
public struct AccessLog: Sendable {
    public static let scope = "access"
    public let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func record(_ entry: AccessLogEntry) {
        logger.log(entry.error == nil ? .info : .error, scope: Self.scope, "connection complete", entry.fields)
    }

    /// A connection that failed before its workloads were known: WARN "connection failed"
    /// with only addresses, direction and error.
    public func recordEarlyFailure(source: SocketAddress, destination: SocketAddress,
                                   direction: AccessLogEntry.Direction, error: String) {
        logger.warn(Self.scope, "connection failed", [
            LogField("src.addr", .bare(source.description)), LogField("dst.addr", .bare(destination.description)),
            LogField("direction", direction.rawValue), LogField("error", error),
        ])
    }

    /// "connection opened" at DEBUG, as ztunnel logs it.
    public func recordOpened(source: SocketAddress, destination: SocketAddress, direction: AccessLogEntry.Direction) {
        guard logger.isEnabled(.debug) else { return }
        logger.debug(Self.scope, "connection opened", [
            LogField("src.addr", .bare(source.description)), LogField("dst.addr", .bare(destination.description)),
            LogField("direction", direction.rawValue),
        ])
    }
}
