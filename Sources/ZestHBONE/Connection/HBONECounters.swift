/// What one HBONE connection saw, as plain counters its worker sums for metrics.
public struct HBONECounters: Sendable, Equatable {
    /// Tunnels opened (client: 200 received; server: 200 sent).
    public var tunnelsOpened = 0
    /// Requests answered with a non-200 status, by status.
    public var rejectedByStatus: [Int: Int] = [:]
    /// Streams reset by the peer.
    public var resetsReceived = 0
    /// Frames or header fields nghttp2 rejected (it resets the stream or closes the connection).
    public var protocolErrors = 0
    /// Connections closed because a control-frame budget ran out.
    public var floods = 0
    /// Keepalive PINGs that went unanswered.
    public var keepaliveTimeouts = 0
    /// DATA frames whose payload had no headroom and was copied to add the frame header.
    public var framesCopied = 0
    /// DATA frames written as one contiguous header + payload (the zero-copy path).
    public var framesInPlace = 0
    /// Received payload bytes the consumer could not take at once and that were held back.
    public var bytesHeldBack = 0
    /// Writes handed to the byte sink (one `SSL_write` each in production): a turn's frames
    /// are coalesced, so this grows by one per turn rather than per frame.
    public var sinkWrites = 0
    /// Small DATA frames copied into a coalesced write instead of being written on their own.
    public var framesCoalesced = 0

    public init() {}

    public mutating func add(_ o: HBONECounters) {
        tunnelsOpened += o.tunnelsOpened
        for (k, v) in o.rejectedByStatus { rejectedByStatus[k, default: 0] += v }
        resetsReceived += o.resetsReceived
        protocolErrors += o.protocolErrors
        floods += o.floods
        keepaliveTimeouts += o.keepaliveTimeouts
        framesCopied += o.framesCopied
        framesInPlace += o.framesInPlace
        bytesHeldBack += o.bytesHeldBack
        sinkWrites += o.sinkWrites
        framesCoalesced += o.framesCoalesced
    }
}
