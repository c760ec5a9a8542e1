import ZestCore

/// The header fields of one incoming request as they arrive, before validation. Only the
/// fields HBONE uses are kept, so memory per stream stays bounded whatever the peer sends;
/// the size of everything is still summed against the advertised header list limit.
struct RequestHead {
    var method: String?
    var authority: String?
    var hasSchemeOrPath = false
    var baggage: String?
    var forwarded: String?
    var traceparent: String?
    /// Sum of name + value + 32 per field, as RFC 9113 §6.5.2 counts SETTINGS_MAX_HEADER_LIST_SIZE.
    var listSize = 0

    /// Records one field. Values of fields Zest reads are capped in length by the list limit.
    mutating func add(name: String, value: String) {
        listSize += name.utf8.count + value.utf8.count + 32
        switch name {
        case ":method": method = value
        case ":authority": authority = value
        case ":scheme", ":path": hasSchemeOrPath = true
        case "baggage": baggage = value
        case "forwarded": forwarded = value
        case "traceparent": traceparent = value
        default: break
        }
    }

    /// Decides whether the request is an acceptable HBONE CONNECT (ztunnel's
    /// `build_inbound_request` and `validate_destination`; ZTUNNEL-REFERENCE.md §3.5).
    /// `localAddress`, when set, is the only IP the authority may name.
    func validate(maxListSize: Int, localAddress: IPAddress?) -> Result<ConnectRequest, ConnectRejection> {
        if listSize > maxListSize { return .failure(.headerListTooLarge(bytes: listSize)) }
        guard let method, method == "CONNECT" else { return .failure(.notConnect(method: method ?? "(none)")) }
        guard let authority, let target = SocketAddress(authority) else {
            return .failure(.malformedAuthority(authority ?? "(none)"))
        }
        if let localAddress, target.ip != localAddress { return .failure(.authorityNotLocal(target.ip)) }
        if HBONEPorts.illegalTargets.contains(target.port) { return .failure(.illegalPort(target.port)) }
        return .success(ConnectRequest(target: target, forwardedFor: forwardedClient, forwardedHost: forwardedHostValue,
                                       baggage: baggage, traceparent: traceparent))
    }

    /// The `for=` address of `forwarded`, when present and well formed.
    var forwardedClient: SocketAddress? {
        forwardedParameter("for").flatMap { SocketAddress($0) }
    }

    var forwardedHostValue: String? { forwardedParameter("host") }

    private func forwardedParameter(_ key: String) -> String? {
        guard let forwarded else { return nil }
        for element in forwarded.split(separator: ";") {
            let pair = element.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces.lowercased() == key else { continue }
            var v = pair[1].trimmingSpaces
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = v.dropFirst().dropLast() }
            return String(v)
        }
        return nil
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
