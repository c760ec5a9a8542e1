/// Frames other than HEADERS and DATA that the connection logic reacts to or counts.
enum H2ControlEvent {
    case resetStream(Int32, H2ErrorCode)
    case settings
    case ping
    case pingAck(UInt64)
    case goAway(lastStreamID: Int32, code: H2ErrorCode)
    case windowUpdate
}

/// What a stream's data source has ready when nghttp2 asks for the next DATA frame.
enum H2Outbound {
    /// `count` payload bytes are ready now.
    case bytes(Int)
    /// `count` bytes (possibly 0) and then the end of this direction (END_STREAM).
    case bytesThenEnd(Int)
    /// Nothing yet; the owner calls `H2Session.resumeData` when bytes arrive.
    case deferred
}

/// Everything an `H2Session` reports, in Swift terms and without C types.
protocol H2SessionHandler: AnyObject {
    /// Hands encoded bytes to the transport. All or none: false means the sink is full, the
    /// session stops, and the owner flushes again when the sink drains.
    func h2Write(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// A request (server) or response (client) header block starts on `stream`.
    func h2BeginHeaders(stream: Int32)
    /// One header field; return false to reset the stream.
    func h2Header(stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool
    /// The header block on `stream` is complete.
    func h2HeadersEnd(stream: Int32, endStream: Bool)
    /// DATA payload, valid only during the call: it points into the buffer given to `receive`.
    func h2Data(stream: Int32, bytes: UnsafeRawBufferPointer)
    /// END_STREAM arrived on a DATA frame.
    func h2DataEnd(stream: Int32)
    func h2Control(_ event: H2ControlEvent)
    /// A HEADERS frame carrying END_STREAM left (an error response).
    func h2FinalHeadersSent(stream: Int32)
    /// We sent GOAWAY, asked for or because nghttp2 found a connection error.
    func h2GoAwaySent(code: H2ErrorCode)
    /// nghttp2 rejected a frame or found a protocol error (it resets or closes by itself).
    func h2ProtocolError(_ reason: String)
    func h2StreamClosed(stream: Int32, code: H2ErrorCode)
    /// How many payload bytes `stream` can send now, at most `max`.
    func h2Outbound(stream: Int32, max: Int) -> H2Outbound
    /// Writes one DATA frame: the 9-byte `header` then `length` payload bytes from the stream's
    /// source. All or none, as for `h2Write`.
    func h2SendData(stream: Int32, header: UnsafeRawBufferPointer, length: Int) -> Bool
}
