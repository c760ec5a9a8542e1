/// How the connection reacts to what nghttp2 parsed: headers, stream ends, control frames.
extension HBONEConnection: H2SessionHandler {
    func h2Write(_ bytes: UnsafeRawBufferPointer) -> Bool { stage(bytes) }

    func h2BeginHeaders(stream: Int32) {
        if role == .server, tunnels[stream] == nil { requestHeads[stream] = RequestHead() }
    }

    func h2Header(stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        switch role {
        case .server:
            requestHeads[stream]?.add(name: String(decoding: name, as: UTF8.self),
                                      value: String(decoding: value, as: UTF8.self))
        case .client:
            if let t = tunnels[stream], t.status == nil, name.elementsEqual(":status".utf8) {
                t.status = Int(String(decoding: value, as: UTF8.self))
            }
        }
        return true
    }

    func h2HeadersEnd(stream: Int32, endStream: Bool) {
        switch role {
        case .server:
            if let head = requestHeads.removeValue(forKey: stream) {
                serveRequest(stream: stream, head: head, endStream: endStream)
            } else if endStream, let t = tunnels[stream] {
                remoteEnded(t)
            }
        case .client:
            guard let t = tunnels[stream] else { return }
            if t.state == .requested { responseArrived(t) }
            if endStream { remoteEnded(t) }
        }
    }

    func h2DataEnd(stream: Int32) {
        if let t = tunnels[stream] { remoteEnded(t) }
    }

    func h2Control(_ event: H2ControlEvent) {
        let now = clock()
        switch event {
        case .resetStream:
            counters.resetsReceived += 1
            admit(.resetStream, now: now)
        case .settings:
            admit(.settings, now: now)
        case .ping:
            admit(.ping, now: now)
        case .pingAck(let payload):
            keepAlive.acknowledged(payload, now: now)
        case .goAway:
            markGoingAway()
        case .windowUpdate:
            break
        }
    }

    /// An error response is out: stop reading the request with RST_STREAM NO_ERROR, as RFC 9113
    /// §8.1 allows once the response is complete. Sent only now because nghttp2 would otherwise
    /// put the RST_STREAM on the wire before the response HEADERS.
    func h2FinalHeadersSent(stream: Int32) {
        if role == .server, tunnels[stream] == nil { session.reset(stream: stream, code: .noError) }
    }

    /// A GOAWAY with an error code nobody here asked for means nghttp2 closed the connection for a
    /// protocol error it found by itself (bad frame size, window overflow …).
    func h2GoAwaySent(code: H2ErrorCode) {
        markGoingAway()
        guard code != .noError, closeError == nil else { return }
        counters.protocolErrors += 1
        closeError = .protocolViolation("closed with GOAWAY \(code)")
    }

    func h2ProtocolError(_ reason: String) {
        counters.protocolErrors += 1
    }

    func h2StreamClosed(stream: Int32, code: H2ErrorCode) {
        requestHeads.removeValue(forKey: stream)
        guard let t = tunnels.removeValue(forKey: stream) else { return }
        if code == .noError, t.sendEnded, t.receiveEnded, !t.held.isEmpty, t.handler != nil {
            // Done on the wire, not yet in the application: deliver the tail before closing.
            t.state = .draining
            drainingTunnels[stream] = t
            return
        }
        t.state = .closed
        if !t.held.isEmpty {
            session.consumeConnection(t.held.count)
            t.held.removeAll()
        }
        switch code {
        case .noError where t.sendEnded && t.receiveEnded:
            reportClose(t, nil)
        case .refusedStream:
            reportClose(t, .refused)
        default:
            reportClose(t, .reset(code))
        }
    }

    /// Charges a control frame to the flood guard; an exhausted budget closes the connection.
    private func admit(_ kind: FloodGuard.Kind, now: ContinuousClock.Instant) {
        guard !floodGuard.admit(kind, now: now), closeError == nil else { return }
        counters.floods += 1
        closeError = .flood("\(kind) frames over \(Int(settings.floodLimits.burst)) burst, \(Int(settings.floodLimits.perSecond))/s")
        session.terminate(code: .enhanceYourCalm)
    }

    /// Client: the response headers are complete; 200 opens the tunnel, anything else ends it.
    private func responseArrived(_ t: HBONETunnel) {
        if t.status == 200 {
            t.state = .open
            counters.tunnelsOpened += 1
            t.handler?.tunnelDidOpen(t)
            if t.state == .open { session.resumeData(stream: t.streamID) }
        } else {
            let status = t.status ?? 0
            counters.rejectedByStatus[status, default: 0] += 1
            t.state = .closed
            tunnels.removeValue(forKey: t.streamID)
            session.reset(stream: t.streamID, code: .cancel)
            reportClose(t, .rejected(status: status))
        }
    }

    /// Server: validates a complete request and hands it to the delegate, or answers it.
    private func serveRequest(stream: Int32, head: RequestHead, endStream: Bool) {
        let request: ConnectRequest
        switch head.validate(maxListSize: settings.maxHeaderListSize, localAddress: settings.localAddress) {
        case .failure(let rejection):
            answer(stream: stream, rejection)
            return
        case .success(let r):
            request = r
        }
        let t = HBONETunnel(streamID: stream, request: request, connection: self, state: .pending, handler: nil)
        t.receiveEnded = endStream
        guard let delegate = serverDelegate else {
            answer(stream: stream, .unknownTarget(request.target))
            return
        }
        if let reason = delegate.hboneServer(self, authorize: request) {
            answer(stream: stream, .denied(reason: reason))
            return
        }
        tunnels[stream] = t
        delegate.hboneServer(self, didReceive: t)
    }

    /// Sends an error status with END_STREAM; once it has left, `h2FinalHeadersSent` stops the
    /// request direction too.
    func answer(stream: Int32, _ rejection: ConnectRejection) {
        counters.rejectedByStatus[rejection.status, default: 0] += 1
        do {
            try session.submitResponse(stream: stream, [H2Header(name: ":status", value: String(rejection.status))], body: false)
        } catch {
            session.reset(stream: stream, code: .internalError)
        }
    }

    /// The peer ended its direction; reported to the handler once every held byte was taken.
    func remoteEnded(_ t: HBONETunnel) {
        t.receiveEnded = true
        reportEndIfDrained(t)
    }

    func reportEndIfDrained(_ t: HBONETunnel) {
        guard t.receiveEnded, !t.receiveEndReported, t.held.isEmpty, t.state == .open || t.state == .draining,
              let h = t.handler else { return }
        t.receiveEndReported = true
        h.tunnelDidReceiveEnd(t)
    }
}
