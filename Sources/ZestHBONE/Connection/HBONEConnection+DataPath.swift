/// The byte path of tunnels: DATA in straight from the decrypted buffer, DATA out with the
/// frame header written into the payload's headroom (ARCHITECTURE.md §3).
extension HBONEConnection {
    func h2Data(stream: Int32, bytes: UnsafeRawBufferPointer) {
        guard let t = tunnels[stream] else {
            // A stream we already answered or reset: nobody will read it, give the credit back.
            session.consume(stream: stream, bytes.count)
            return
        }
        var taken = 0
        if t.held.isEmpty, t.state == .open, let h = t.handler {
            taken = min(max(h.tunnel(t, receive: bytes), 0), bytes.count)
            session.consume(stream: stream, taken)
        }
        if taken < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[taken...])
            t.held.append(rest)
            counters.bytesHeldBack += rest.count
        }
    }

    func h2Outbound(stream: Int32, max: Int) -> H2Outbound {
        guard let t = tunnels[stream], t.maySend, !t.sendEnded else { return .deferred }
        if let out = t.handler?.tunnelOutbound(t), out.count > 0 { return .bytes(Self.framePayload(available: out.count, max: max)) }
        guard t.sendFinishing else { return .deferred }
        t.sendEnded = true
        return .bytesThenEnd(0)
    }

    /// TLS record plaintext size: a DATA frame whose header and payload fill whole records
    /// leaves in full records, never a record of a few bytes behind a full one.
    static let tlsRecord = 16_384

    /// How much of `available` bytes to put in the next frame, at most `max`: everything when it
    /// fits, otherwise the most that makes header + payload a whole number of TLS records.
    static func framePayload(available: Int, max: Int) -> Int {
        if available <= max { return available }
        let aligned = (max + 9) / tlsRecord * tlsRecord - 9
        return aligned > 0 ? aligned : max
    }

    func h2SendData(stream: Int32, header: UnsafeRawBufferPointer, length: Int) -> Bool {
        guard length > 0 else { return stage(header) }
        guard let t = tunnels[stream], let h = t.handler, let out = h.tunnelOutbound(t), out.count >= length else {
            return false
        }
        let sent = stageData(header: header, payload: UnsafeRawBufferPointer(start: out.start, count: length)) {
            if out.headroom >= header.count {
                let frame = out.start - header.count
                frame.copyMemory(from: header.baseAddress!, byteCount: header.count)
                guard writeToSink(UnsafeRawBufferPointer(start: frame, count: header.count + length)) else { return false }
                counters.framesInPlace += 1
                return true
            }
            frameScratch.removeAll(keepingCapacity: true)
            frameScratch.append(contentsOf: header)
            frameScratch.append(contentsOf: UnsafeRawBufferPointer(start: out.start, count: length))
            guard frameScratch.withUnsafeBytes({ writeToSink($0) }) else { return false }
            counters.framesCopied += 1
            return true
        }
        if sent { h.tunnel(t, didSend: length) }
        return sent
    }

    /// Client: opens a tunnel for one user connection. The CONNECT carries this connection's
    /// traceparent; DATA follows at once (`sendBeforeResponse`, asked from `handler` in the same
    /// write as the HEADERS) or waits for the 200.
    public func openTunnel(_ request: ConnectRequest, handler: HBONETunnelHandler) throws(HBONEError) -> HBONETunnel {
        precondition(role == .client, "openTunnel is a client operation")
        guard !closed, !isGoingAway, session.requestAllowed else { throw .goingAway }
        guard hasCapacity else { throw .streamLimitReached(tunnels.count) }
        var r = request
        r.traceparent = r.traceparent ?? traceparent
        let id = try session.submitRequest(r.headers)
        let t = HBONETunnel(streamID: id, request: r, connection: self, state: .requested, handler: handler)
        tunnels[id] = t
        flush()
        return t
    }

    /// Whether one more tunnel fits: under our cap and the peer's SETTINGS_MAX_CONCURRENT_STREAMS,
    /// and no GOAWAY either way.
    public var hasCapacity: Bool {
        !closed && !isGoingAway && tunnels.count < streamLimit
    }

    /// The most tunnels this connection may carry at once.
    public var streamLimit: Int {
        role == .client ? min(settings.maxConcurrentStreams, Int(session.peerMaxConcurrentStreams)) : settings.maxConcurrentStreams
    }

    func accept(_ t: HBONETunnel) {
        guard !closed, tunnels[t.streamID] === t else { return }
        do {
            try session.submitResponse(stream: t.streamID, [H2Header(name: ":status", value: "200")], body: true)
        } catch {
            tunnels.removeValue(forKey: t.streamID)
            t.state = .closed
            session.reset(stream: t.streamID, code: .internalError)
            reportClose(t, .reset(.internalError))
            flush()
            return
        }
        t.state = .open
        counters.tunnelsOpened += 1
        t.handler?.tunnelDidOpen(t)
        deliverHeld(t)
        flush()
    }

    func reject(_ t: HBONETunnel, _ rejection: ConnectRejection) {
        guard !closed, tunnels.removeValue(forKey: t.streamID) === t else { return }
        t.state = .closed
        t.closeReported = true
        if !t.held.isEmpty {
            session.consume(stream: t.streamID, t.held.count)
            t.held.removeAll()
        }
        answer(stream: t.streamID, rejection)
        flush()
    }

    func resume(_ t: HBONETunnel) {
        guard !closed, t.maySend else { return }
        session.resumeData(stream: t.streamID)
        flush()
    }

    func deliverHeld(_ t: HBONETunnel) {
        guard t.state == .open || t.state == .draining, let h = t.handler else { return }
        let taken = t.held.take { h.tunnel(t, receive: $0) }
        if !closed {
            // A draining tunnel's stream is gone: only the connection window is still owed.
            if t.state == .open { session.consume(stream: t.streamID, taken) } else { session.consumeConnection(taken) }
        }
        reportEndIfDrained(t)
        if t.state == .draining, t.held.isEmpty {
            drainingTunnels.removeValue(forKey: t.streamID)
            t.state = .closed
            reportClose(t, nil)
        }
        flush()
    }

    func resetTunnel(_ t: HBONETunnel, code: H2ErrorCode) {
        if t.state == .draining {
            // The application gave up on the tail; the stream itself is already closed.
            if !closed { session.consumeConnection(t.held.count) }
            t.held.removeAll()
            drainingTunnels.removeValue(forKey: t.streamID)
            t.state = .closed
            reportClose(t, .reset(code))
            return
        }
        guard !closed else { return }
        session.reset(stream: t.streamID, code: code)
        flush()
    }
}
