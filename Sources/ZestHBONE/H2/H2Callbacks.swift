internal import CNghttp2

/// The C callbacks nghttp2 calls. Each recovers the `H2Session` from `user_data` (passed
/// unretained, C-INTEROP.md §4.2) and forwards to its handler in Swift terms.
enum H2Callbacks {
    static func install(on callbacks: OpaquePointer) {
        nghttp2_session_callbacks_set_send_callback(callbacks) { _, data, length, _, user in
            guard let data else { return 0 }
            let accepted = owner(user).handler.h2Write(UnsafeRawBufferPointer(start: data, count: length))
            return accepted ? length : Int(NGHTTP2_ERR_WOULDBLOCK.rawValue)
        }
        nghttp2_session_callbacks_set_send_data_callback(callbacks) { _, frame, header, length, _, user in
            guard let frame, let header else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
            let stream = frame.pointee.hd.stream_id
            let sent = owner(user).handler.h2SendData(
                stream: stream, header: UnsafeRawBufferPointer(start: header, count: 9), length: length)
            return sent ? 0 : NGHTTP2_ERR_WOULDBLOCK.rawValue
        }
        // Lets DATA frames grow past nghttp2's default 16 KiB up to the peer's SETTINGS_MAX_FRAME_SIZE,
        // so one pool slot can leave as one frame; `h2Outbound` then aligns frames to TLS records.
        nghttp2_session_callbacks_set_data_source_read_length_callback(callbacks) { _, _, _, _, _, peerMaxFrame, _ in
            Int(peerMaxFrame)
        }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            owner(user).handler.h2BeginHeaders(stream: frame.pointee.hd.stream_id)
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame else { return 0 }
            let ok = owner(user).handler.h2Header(
                stream: frame.pointee.hd.stream_id,
                name: UnsafeRawBufferPointer(start: name, count: nameLength),
                value: UnsafeRawBufferPointer(start: value, count: valueLength))
            return ok ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            dispatchFrame(frame.pointee, owner(user).handler)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            let hd = frame.pointee.hd
            switch UInt32(hd.type) {
            case NGHTTP2_HEADERS.rawValue where hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0:
                owner(user).handler.h2FinalHeadersSent(stream: hd.stream_id)
            case NGHTTP2_GOAWAY.rawValue:
                owner(user).handler.h2GoAwaySent(code: H2ErrorCode(rawValue: frame.pointee.goaway.error_code))
            default:
                break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, user in
            owner(user).handler.h2Data(stream: stream, bytes: UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, stream, code, user in
            owner(user).handler.h2StreamClosed(stream: stream, code: H2ErrorCode(rawValue: code))
            return 0
        }
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks) { _, frame, code, user in
            let type = frame.map { h2FrameName($0.pointee.hd.type) } ?? "frame"
            owner(user).handler.h2ProtocolError("invalid \(type): \(H2Session.describe(code))")
            return 0
        }
        nghttp2_session_callbacks_set_error_callback2(callbacks) { _, code, message, length, user in
            let text = message.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
            owner(user).handler.h2ProtocolError("\(H2Session.describe(code)): \(text)")
            return 0
        }
        nghttp2_session_callbacks_set_on_invalid_header_callback(callbacks) { _, frame, _, _, _, _, _, user in
            guard let frame else { return 0 }
            owner(user).handler.h2ProtocolError("invalid header field on stream \(frame.pointee.hd.stream_id)")
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
    }

    /// The data source every stream uses: it reports how much is ready and always asks for
    /// NO_COPY, so the payload is written by `send_data_callback` straight from the source.
    static let readCallback: nghttp2_data_source_read_callback = { _, stream, _, length, flags, _, user in
        guard let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        switch owner(user).handler.h2Outbound(stream: stream, max: length) {
        case .bytes(let n):
            flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue
            return n
        case .bytesThenEnd(let n):
            flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue | NGHTTP2_DATA_FLAG_EOF.rawValue
            return n
        case .deferred:
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
    }

}

/// The `H2Session` behind a callback's `user_data`.
private func owner(_ user: UnsafeMutableRawPointer?) -> H2Session {
    Unmanaged<H2Session>.fromOpaque(user!).takeUnretainedValue()
}

private func dispatchFrame(_ frame: nghttp2_frame, _ handler: H2SessionHandler) {
    let endStream = frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
    let ack = frame.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0
    switch UInt32(frame.hd.type) {
    case NGHTTP2_DATA.rawValue:
        if endStream { handler.h2DataEnd(stream: frame.hd.stream_id) }
    case NGHTTP2_HEADERS.rawValue:
        handler.h2HeadersEnd(stream: frame.hd.stream_id, endStream: endStream)
    case NGHTTP2_RST_STREAM.rawValue:
        handler.h2Control(.resetStream(frame.hd.stream_id, H2ErrorCode(rawValue: frame.rst_stream.error_code)))
    case NGHTTP2_SETTINGS.rawValue:
        if !ack { handler.h2Control(.settings) }
    case NGHTTP2_PING.rawValue:
        if ack {
            let payload = withUnsafeBytes(of: frame.ping.opaque_data) { $0.loadUnaligned(as: UInt64.self) }
            handler.h2Control(.pingAck(UInt64(bigEndian: payload)))
        } else {
            handler.h2Control(.ping)
        }
    case NGHTTP2_GOAWAY.rawValue:
        handler.h2Control(.goAway(lastStreamID: frame.goaway.last_stream_id,
                                  code: H2ErrorCode(rawValue: frame.goaway.error_code)))
    case NGHTTP2_WINDOW_UPDATE.rawValue:
        handler.h2Control(.windowUpdate)
    default:
        break
    }
}

func h2FrameName(_ type: UInt8) -> String {
    switch UInt32(type) {
    case NGHTTP2_DATA.rawValue: "DATA"
    case NGHTTP2_HEADERS.rawValue: "HEADERS"
    case NGHTTP2_PRIORITY.rawValue: "PRIORITY"
    case NGHTTP2_RST_STREAM.rawValue: "RST_STREAM"
    case NGHTTP2_SETTINGS.rawValue: "SETTINGS"
    case NGHTTP2_PUSH_PROMISE.rawValue: "PUSH_PROMISE"
    case NGHTTP2_PING.rawValue: "PING"
    case NGHTTP2_GOAWAY.rawValue: "GOAWAY"
    case NGHTTP2_WINDOW_UPDATE.rawValue: "WINDOW_UPDATE"
    case NGHTTP2_CONTINUATION.rawValue: "CONTINUATION"
    default: "frame type \(type)"
    }
}
