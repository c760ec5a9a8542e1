import ZestCore

/// HTTP/2 parameters of an HBONE connection, defaulting to ztunnel's (ZTUNNEL-REFERENCE.md §3.3).
public struct HBONESettings: Sendable {
    /// SETTINGS_INITIAL_WINDOW_SIZE: what one stream may have in flight towards us.
    public var streamWindow: Int32 = 4 << 20
    /// Connection-level receive window, 4× the stream window so one stalled stream cannot starve the rest.
    public var connectionWindow: Int32 = 16 << 20
    /// SETTINGS_MAX_FRAME_SIZE we accept.
    public var maxFrameSize: UInt32 = 1 << 20
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce (16 KiB client, 64 KiB server).
    public var maxHeaderListSize: Int
    /// Client: most streams opened on one connection (also capped by the peer's limit).
    /// Server: SETTINGS_MAX_CONCURRENT_STREAMS advertised.
    public var maxConcurrentStreams: Int
    /// First PING after this long, then one per interval.
    public var pingInterval: Duration = .seconds(10)
    /// A PING not acknowledged within this closes the connection.
    public var pingTimeout: Duration = .seconds(20)
    /// Control-frame budget per connection before it is closed as a flood.
    public var floodLimits = FloodLimits()
    /// Server: the only IP an authority may name (ztunnel answers 400 otherwise); nil accepts any.
    public var localAddress: IPAddress?
    /// Client: send DATA right behind the CONNECT instead of waiting for the 200, which saves
    /// a round trip to the peer per connection. The server holds such bytes (within the stream
    /// window) and forwards them only once it answered 200; a refusal discards them. ztunnel
    /// itself waits for the 200; any HTTP/2 server buffers early DATA (RFC 9113 flow control).
    public var sendBeforeResponse = true

    public static var client: HBONESettings { HBONESettings(maxHeaderListSize: 16 << 10, maxConcurrentStreams: 100) }
    public static var server: HBONESettings { HBONESettings(maxHeaderListSize: 64 << 10, maxConcurrentStreams: 200) }

    public init(maxHeaderListSize: Int, maxConcurrentStreams: Int) {
        self.maxHeaderListSize = maxHeaderListSize
        self.maxConcurrentStreams = maxConcurrentStreams
    }
}
