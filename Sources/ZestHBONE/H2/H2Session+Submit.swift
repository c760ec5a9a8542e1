internal import CNghttp2

/// A header field to send, name lower-case as HTTP/2 requires.
struct H2Header {
    var name: String
    var value: String
}

extension H2Session {
    /// Submits a request (`nghttp2_submit_request`) whose body comes from the handler's data
    /// source. Returns the new stream id.
    func submitRequest(_ headers: [H2Header]) throws(HBONEError) -> Int32 {
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2Callbacks.readCallback)
        let id = H2Session.withNameValues(headers) { nva, count in
            nghttp2_submit_request(raw, nil, nva, count, &provider, nil)
        }
        guard id > 0 else { throw .nghttp2("nghttp2_submit_request", H2Session.describe(id)) }
        return id
    }

    /// Submits response headers (`nghttp2_submit_response`). With `body` the stream stays open
    /// and its DATA comes from the handler's data source; without it the HEADERS frame ends the stream.
    func submitResponse(stream: Int32, _ headers: [H2Header], body: Bool) throws(HBONEError) {
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2Callbacks.readCallback)
        let rc = H2Session.withNameValues(headers) { nva, count in
            body ? nghttp2_submit_response(raw, stream, nva, count, &provider)
                 : nghttp2_submit_response(raw, stream, nva, count, nil)
        }
        guard rc == 0 else { throw .nghttp2("nghttp2_submit_response", H2Session.describe(rc)) }
    }

    /// Lays the header strings out in one scratch allocation and points an `nghttp2_nv` array
    /// at it. nghttp2 copies the fields during `submit_*` (no NO_COPY flags), so the scratch
    /// memory is freed as soon as `body` returns.
    private static func withNameValues<T>(_ headers: [H2Header],
                                          _ body: (UnsafePointer<nghttp2_nv>, Int) -> T) -> T {
        let total = headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
        defer { bytes.deallocate() }
        var nva: [nghttp2_nv] = []
        nva.reserveCapacity(headers.count)
        var at = 0
        for h in headers {
            let name = bytes + at
            at += copy(h.name, to: name)
            let value = bytes + at
            at += copy(h.value, to: value)
            nva.append(nghttp2_nv(name: name, value: value, namelen: h.name.utf8.count,
                                  valuelen: h.value.utf8.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
        }
        return nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }

    private static func copy(_ s: String, to p: UnsafeMutablePointer<UInt8>) -> Int {
        if let n = s.utf8.withContiguousStorageIfAvailable({ src -> Int in
            if let base = src.baseAddress { p.update(from: base, count: src.count) }
            return src.count
        }) {
            return n
        }
        var n = 0
        for b in s.utf8 { p[n] = b; n += 1 }
        return n
    }
}
