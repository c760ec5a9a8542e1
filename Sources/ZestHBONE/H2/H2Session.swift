internal import CNghttp2

/// Which end of an HTTP/2 connection a session plays.
enum H2Role { case client, server }

/// One HTTP/2 setting to advertise, as (identifier, value), without C types.
struct H2Setting {
    enum ID { case maxConcurrentStreams, initialWindowSize, maxFrameSize, maxHeaderListSize, enablePush }
    var id: ID
    var value: UInt32
}

/// Limits nghttp2 itself enforces on the peer (flood and abuse guards it has built in).
struct H2Limits {
    /// SETTINGS ACK and PING ACK frames queued for a peer that does not read; past it nghttp2 closes.
    var maxOutboundAcks = 1000
    /// RST_STREAM token bucket (server only): burst and tokens regenerated per second.
    var resetBurst: UInt64 = 1000
    var resetRatePerSecond: UInt64 = 33
    /// CONTINUATION frames accepted after one HEADERS frame.
    var maxContinuations = 8
    /// Entries accepted in one SETTINGS frame.
    var maxSettingsEntries = 32
}

/// An nghttp2 session driven entirely from memory: bytes in through `receive`, bytes out
/// through the handler's `h2Write`. It is the only owner of the C `nghttp2_session`, which it
/// deletes in `deinit`, and it is itself the C `user_data`, passed unretained (C-INTEROP.md
/// §4.2), so the pointer can never outlive it. The handler owns the session and must outlive
/// it, so the session holds it `unowned`.
///
/// Automatic window updates are off: the handler calls `consume` once received DATA has been
/// written on, so a slow consumer stops the peer at the window instead of growing a buffer.
final class H2Session {
    let role: H2Role
    unowned let handler: H2SessionHandler
    let raw: OpaquePointer

    /// Creates the session (`nghttp2_session_client_new2`/`server_new2`) with HBONE's options.
    init(role: H2Role, handler: H2SessionHandler, limits: H2Limits) throws(HBONEError) {
        self.role = role
        self.handler = handler
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else {
            throw .outOfMemory("nghttp2_session_callbacks_new")
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        H2Callbacks.install(on: callbacks)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else { throw .outOfMemory("nghttp2_option_new") }
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_no_closed_streams(option, 1)
        nghttp2_option_set_max_outbound_ack(option, limits.maxOutboundAcks)
        nghttp2_option_set_max_settings(option, limits.maxSettingsEntries)
        nghttp2_option_set_max_continuations(option, limits.maxContinuations)
        nghttp2_option_set_stream_reset_rate_limit(option, limits.resetBurst, limits.resetRatePerSecond)

        var session: OpaquePointer?
        let rc = role == .client
            ? nghttp2_session_client_new2(&session, callbacks, nil, option)
            : nghttp2_session_server_new2(&session, callbacks, nil, option)
        guard rc == 0, let session else { throw .outOfMemory("nghttp2_session_new") }
        raw = session
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { nghttp2_session_del(raw) }

    /// Queues a SETTINGS frame (`nghttp2_submit_settings`) and raises the connection-level
    /// receive window to `connectionWindow` (`nghttp2_session_set_local_window_size`).
    func start(settings: [H2Setting], connectionWindow: Int32) throws(HBONEError) {
        var entries = settings.map { nghttp2_settings_entry(settings_id: Int32($0.id.code), value: $0.value) }
        let rc = nghttp2_submit_settings(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        guard rc == 0 else { throw .nghttp2("nghttp2_submit_settings", H2Session.describe(rc)) }
        let w = nghttp2_session_set_local_window_size(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, connectionWindow)
        guard w == 0 else { throw .nghttp2("nghttp2_session_set_local_window_size", H2Session.describe(w)) }
    }

    /// Feeds received bytes to nghttp2 (`nghttp2_session_mem_recv`). Returns false when the
    /// session hit a fatal error (flood, bad client magic, callback failure) and must be closed.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Result<Void, HBONEError> {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return .success(()) }
        let n = nghttp2_session_mem_recv(raw, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if n < 0 { return .failure(.protocolViolation(H2Session.describe(Int32(n)))) }
        return .success(())
    }

    /// Writes queued frames through the handler (`nghttp2_session_send`); stops quietly when the
    /// handler's sink is full.
    func flush() -> Result<Void, HBONEError> {
        let rc = nghttp2_session_send(raw)
        if rc < 0 { return .failure(.protocolViolation(H2Session.describe(rc))) }
        return .success(())
    }

    /// Whether the session still wants to read or write; false once GOAWAY went both ways
    /// or a fatal error closed it (`nghttp2_session_want_read`/`want_write`).
    var isAlive: Bool { nghttp2_session_want_read(raw) != 0 || nghttp2_session_want_write(raw) != 0 }

    /// Returns flow-control credit for `count` DATA bytes the consumer took (`nghttp2_session_consume`).
    func consume(stream: Int32, _ count: Int) {
        guard count > 0 else { return }
        if nghttp2_session_consume(raw, stream, count) != 0 {
            _ = nghttp2_session_consume_connection(raw, count)
        }
    }

    /// Returns connection-level credit only, for bytes of a stream that is already gone.
    func consumeConnection(_ count: Int) {
        guard count > 0 else { return }
        _ = nghttp2_session_consume_connection(raw, count)
    }

    /// Asks nghttp2 to call the data source again for a deferred stream (`nghttp2_session_resume_data`).
    func resumeData(stream: Int32) { _ = nghttp2_session_resume_data(raw, stream) }

    /// Queues RST_STREAM (`nghttp2_submit_rst_stream`).
    func reset(stream: Int32, code: H2ErrorCode) {
        _ = nghttp2_submit_rst_stream(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code.rawValue)
    }

    /// Queues a PING (`nghttp2_submit_ping`) with an 8-byte opaque payload.
    func ping(payload: UInt64) {
        var data = payload.bigEndian
        withUnsafeBytes(of: &data) { p in
            _ = nghttp2_submit_ping(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), p.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Queues GOAWAY with the last stream id nghttp2 processed (`nghttp2_submit_goaway`):
    /// streams up to it finish, later ones are refused.
    func goAway(code: H2ErrorCode) {
        let last = nghttp2_session_get_last_proc_stream_id(raw)
        _ = nghttp2_submit_goaway(raw, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, code.rawValue, nil, 0)
    }

    /// Closes the session after the queued frames with GOAWAY (`nghttp2_session_terminate_session`).
    func terminate(code: H2ErrorCode) { _ = nghttp2_session_terminate_session(raw, code.rawValue) }

    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (`nghttp2_session_get_remote_settings`).
    var peerMaxConcurrentStreams: UInt32 {
        nghttp2_session_get_remote_settings(raw, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    }

    /// Whether a new request may be submitted: no GOAWAY either way (`nghttp2_session_check_request_allowed`).
    var requestAllowed: Bool { nghttp2_session_check_request_allowed(raw) != 0 }

    static func describe(_ code: Int32) -> String { String(cString: nghttp2_strerror(code)) }
}

extension H2Setting.ID {
    var code: UInt32 {
        switch self {
        case .maxConcurrentStreams: NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue
        case .initialWindowSize: NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue
        case .maxFrameSize: NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue
        case .maxHeaderListSize: NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue
        case .enablePush: NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue
        }
    }
}
