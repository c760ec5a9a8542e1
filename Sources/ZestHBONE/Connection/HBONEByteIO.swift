/// Where an HBONE connection's encoded bytes go: in production the TLS connection on the reactor,
/// in tests a pipe to another session.
public protocol HBONEByteSink: AnyObject {
    /// Takes all of `bytes` or none of them. Returning false means the sink is full: the
    /// connection stops producing and the owner calls `HBONEConnection.sinkDidDrain()` once
    /// the sink has room again. A sink that queues part of a write must accept the whole of it.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// Bytes waiting to go into a tunnel, laid out so the 9-byte DATA frame header can be written
/// in front of them: with `headroom >= 9` header and payload leave in one sink write, one TLS
/// record, no copy (ARCHITECTURE.md §3).
public struct OutboundBytes {
    /// The first payload byte.
    public var start: UnsafeMutableRawPointer
    public var count: Int
    /// Writable scratch bytes directly before `start`.
    public var headroom: Int

    public init(start: UnsafeMutableRawPointer, count: Int, headroom: Int) {
        self.start = start
        self.count = count
        self.headroom = headroom
    }
}

/// The application side of one tunnel: the TCP socket adapter in production.
public protocol HBONETunnelHandler: AnyObject {
    /// Client: the peer answered 200. Server: the 200 was queued after `accept`.
    func tunnelDidOpen(_ tunnel: HBONETunnel)
    /// Payload from the peer, valid only during the call (it points into the decrypted input
    /// buffer). Returns how many bytes were taken; the rest is held by the tunnel, its window
    /// is not reopened, and it is offered again on `HBONETunnel.deliverHeldBytes()`.
    func tunnel(_ tunnel: HBONETunnel, receive bytes: UnsafeRawBufferPointer) -> Int
    /// The peer ended its direction (END_STREAM) and every byte before it was taken.
    func tunnelDidReceiveEnd(_ tunnel: HBONETunnel)
    /// The next bytes to send, or nil when none are ready (call `HBONETunnel.resumeSending()` later).
    func tunnelOutbound(_ tunnel: HBONETunnel) -> OutboundBytes?
    /// `count` bytes from the front of the outbound bytes are sent and may be released.
    func tunnel(_ tunnel: HBONETunnel, didSend count: Int)
    /// The tunnel is over: both directions ended cleanly (nil), or it failed.
    func tunnel(_ tunnel: HBONETunnel, didCloseWith error: HBONETunnelError?)
}

/// Why a tunnel ended other than by both sides finishing.
public enum HBONETunnelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with a status other than 200.
    case rejected(status: Int)
    /// The peer reset the stream, or nghttp2 reset it for a protocol error.
    case reset(H2ErrorCode)
    /// The stream was refused (GOAWAY or REFUSED_STREAM) before the server processed it: safe to retry.
    case refused
    /// The whole connection ended.
    case connectionClosed(HBONEError)

    public var description: String {
        switch self {
        case .rejected(let s): "the HBONE peer answered \(s)"
        case .reset(let c): "the stream was reset (\(c))"
        case .refused: "the peer refused the stream before processing it; retry on a new connection"
        case .connectionClosed(let e): "the HBONE connection closed: \(e)"
        }
    }
}
