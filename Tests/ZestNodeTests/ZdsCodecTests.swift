import Testing
@testable import ZestNode

/// Byte vectors derived by hand from istio/ztunnel proto/zds.proto (tag = field << 3 | wire
/// type), and cross-checked once against Python protobuf 7.36 encoding the same schema.
@Suite("ZDS wire codec")
struct ZdsCodecTests {
    static let info = WorkloadInfo(name: "p", namespace: "ns", serviceAccount: "sa")

    static let requestVectors: [(WorkloadRequest, [UInt8])] = [
        // WorkloadRequest.add(1) { uid(1) "u1", workload_info(2) { name(1) "p", namespace(2) "ns", service_account(3) "sa" } }
        (.add(uid: PodUID("u1"), info: info),
         [0x0a, 0x11, 0x0a, 0x02, 0x75, 0x31, 0x12, 0x0b,
          0x0a, 0x01, 0x70, 0x12, 0x02, 0x6e, 0x73, 0x1a, 0x02, 0x73, 0x61]),
        // keep(5) { uid(1) "ab" }
        (.keep(uid: PodUID("ab")), [0x2a, 0x04, 0x0a, 0x02, 0x61, 0x62]),
        // del(2) { uid(2) "ab" } — DelWorkload numbers its uid 2
        (.delete(uid: PodUID("ab")), [0x12, 0x04, 0x12, 0x02, 0x61, 0x62]),
        // snapshot_sent(3) {}
        (.snapshotSent, [0x1a, 0x00]),
    ]

    @Test("requests encode to the bytes istio-cni sends", arguments: 0..<4)
    func requestEncoding(_ i: Int) throws {
        let (request, bytes) = Self.requestVectors[i]
        #expect(request.encoded() == bytes)
        #expect(try WorkloadRequest(decoding: bytes) == request)
    }

    @Test func helloAndResponsesEncodeToProtoBytes() throws {
        #expect(ZdsHello.v1.encoded() == [0x08, 0x01])
        #expect(try ZdsHello(decoding: [0x08, 0x01]) == .v1)
        #expect(try ZdsHello(decoding: []).version == 0)
        #expect(WorkloadResponse.ack.encoded() == [0x0a, 0x00])
        #expect(WorkloadResponse(error: "no").encoded() == [0x0a, 0x04, 0x0a, 0x02, 0x6e, 0x6f])
        #expect(try WorkloadResponse(decoding: [0x0a, 0x00]).isAck)
        #expect(try WorkloadResponse(decoding: [0x0a, 0x04, 0x0a, 0x02, 0x6e, 0x6f]).error == "no")
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        // add { uid "u1", 3: {1: ""} (Windows namespace), 9: varint 5, 10: fixed32, 11: fixed64 }
        let add: [UInt8] = [0x0a, 0x02, 0x75, 0x31, 0x1a, 0x02, 0x0a, 0x00, 0x48, 0x05,
                            0x55, 1, 2, 3, 4, 0x59, 1, 2, 3, 4, 5, 6, 7, 8]
        let bytes: [UInt8] = [0x0a, UInt8(add.count)] + add + [0x78, 0x01] // plus request field 15
        #expect(try WorkloadRequest(decoding: bytes) == .add(uid: PodUID("u1"), info: nil))
    }

    @Test func lastOneofFieldWins() throws {
        #expect(try WorkloadRequest(decoding: [0x1a, 0x00, 0x12, 0x04, 0x12, 0x02, 0x61, 0x62])
                == .delete(uid: PodUID("ab")))
    }

    @Test func maximalTenByteVarintDecodes() throws {
        // 2^64-1 as an int32 enum is -1 sign-extended: valid on the wire.
        let bytes: [UInt8] = [0x08] + Array(repeating: 0xff, count: 9) + [0x01]
        #expect(try ZdsHello(decoding: bytes).version == -1)
    }

    static let malformed: [(String, [UInt8], @Sendable (ZdsDecodeError) -> Bool)] = [
        ("length beyond the end", [0x0a, 0x05, 0x0a, 0x02], {
            if case .wire(.lengthOutOfBounds(5, remaining: 2, offset: 1), _) = $0 { true } else { false } }),
        ("huge length", [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], {
            if case .wire(.lengthOutOfBounds, _) = $0 { true } else { false } }),
        ("varint cut off", [0x0a], {
            if case .wire(.truncated, _) = $0 { true } else { false } }),
        ("eleven-byte varint", [0x78] + Array(repeating: 0xff, count: 10) + [0x01], {
            if case .wire(.varintTooLong(offset: 1), _) = $0 { true } else { false } }),
        ("tenth varint byte overflows", [0x78] + Array(repeating: 0xff, count: 9) + [0x02], {
            if case .wire(.varintTooLong, _) = $0 { true } else { false } }),
        ("wire type 7", [0x0f], {
            if case .wire(.invalidWireType(7, offset: 0), _) = $0 { true } else { false } }),
        ("field number 0", [0x02, 0x00], {
            if case .wire(.fieldNumberZero, _) = $0 { true } else { false } }),
        ("group encoding", [0x33], {
            if case .wire(.groupsUnsupported(field: 6), _) = $0 { true } else { false } }),
        ("payload sent as varint", [0x08, 0x01], {
            if case .wire(.wrongWireType(field: 1, _, _, got: 0), _) = $0 { true } else { false } }),
        ("uid not UTF-8", [0x12, 0x03, 0x12, 0x01, 0xff], {
            if case .wire(.invalidUTF8(field: "DelWorkload.uid"), _) = $0 { true } else { false } }),
        ("truncated fixed32", [0x3d, 0x01, 0x02], {
            if case .wire(.truncated, _) = $0 { true } else { false } }),
        ("inner message overruns its length", [0x0a, 0x02, 0x0a, 0x05], {
            if case .wire(.lengthOutOfBounds, _) = $0 { true } else { false } }),
        ("only NoSnapshotPresent (4), removed from ZDS", [0x22, 0x00], {
            if case .noKnownPayload(_, unknownFields: [4]) = $0 { true } else { false } }),
        ("empty request", [], {
            if case .noKnownPayload(_, unknownFields: []) = $0 { true } else { false } }),
    ]

    @Test("malformed requests are rejected with a reason, never a crash", arguments: 0..<14)
    func malformedRequest(_ i: Int) {
        let (name, bytes, matches) = Self.malformed[i]
        do {
            let decoded = try WorkloadRequest(decoding: bytes)
            Issue.record("\(name): decoded as \(decoded)")
        } catch {
            #expect(matches(error), "\(name): \(error)")
            #expect(!error.description.isEmpty)
        }
    }

    @Test func everyTruncationOfAValidRequestFailsCleanly() {
        let full = WorkloadRequest.add(uid: PodUID("0e5f1c9a-1111-4222-8333-444455556666"),
                                       info: WorkloadInfo(name: "web-0", namespace: "shop", serviceAccount: "web")).encoded()
        for cut in 1..<full.count {
            #expect(throws: ZdsDecodeError.self) { try WorkloadRequest(decoding: Array(full[..<cut])) }
        }
    }

    @Test func responseWithoutAckIsRejected() {
        #expect(throws: ZdsDecodeError.noKnownPayload(message: "WorkloadResponse", unknownFields: [2])) {
            try WorkloadResponse(decoding: [0x12, 0x00])
        }
    }
}
