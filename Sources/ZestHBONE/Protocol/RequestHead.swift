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

    /// The value of parameter `key` (lowercase ASCII) in `forwarded` (RFC 7239: `;`-separated
    /// `name=value` pairs, names case-insensitive, values optionally quoted), scanning bytes.
    private func forwardedParameter(_ key: StaticString) -> String? {
        guard var forwarded else { return nil }
        return forwarded.withUTF8 { text -> String? in
            var start = 0
            while start < text.count {
                let end = text[start...].firstIndex(of: UInt8(ascii: ";")) ?? text.count
                defer { start = end + 1 }
                guard let eq = text[start..<end].firstIndex(of: UInt8(ascii: "=")), eq > start, eq + 1 < end,
                      Self.equalsIgnoringASCIICase(Self.trimmingSpaces(text[start..<eq]), key) else { continue }
                var value = Self.trimmingSpaces(text[(eq + 1)..<end])
                if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                    value = value.dropFirst().dropLast()
                }
                return String(decoding: value, as: UTF8.self)
            }
            return nil
        }
    }

    private static func trimmingSpaces(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        var s = s
        while s.first == UInt8(ascii: " ") { s = s.dropFirst() }
        while s.last == UInt8(ascii: " ") { s = s.dropLast() }
        return s
    }

    private static func equalsIgnoringASCIICase(_ s: Slice<UnsafeBufferPointer<UInt8>>, _ key: StaticString) -> Bool {
        guard s.count == key.utf8CodeUnitCount else { return false }
        return key.withUTF8Buffer { k in
            zip(s, k).allSatisfy { a, b in (a >= 65 && a <= 90 ? a + 32 : a) == b }
        }
    }
}
