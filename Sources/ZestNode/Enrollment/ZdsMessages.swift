/// The messages of Istio's ZDS protocol (`istio/ztunnel: proto/zds.proto`, package
/// `istio.workload.zds`), with the field numbers of that file so a stock istio-cni
/// node agent and Zest understand each other:
///
/// ```
/// ZdsHello         { Version version = 1; }                    // NOT_USED = 0, V1 = 1
/// WorkloadInfo     { string name = 1; string namespace = 2; string service_account = 3; }
/// AddWorkload      { string uid = 1; WorkloadInfo workload_info = 2; }
/// KeepWorkload     { string uid = 1; }
/// DelWorkload      { string uid = 2; }                         // 2, not 1
/// SnapshotSent     { }
/// Ack              { string error = 1; }
/// WorkloadRequest  { oneof payload { add = 1; del = 2; snapshot_sent = 3; keep = 5; } }
/// WorkloadResponse { oneof payload { Ack ack = 1; } }
/// ```
///
/// Unknown fields are skipped, as protobuf requires, so newer peers that add fields
/// (AddWorkload's Windows-only namespace, for one) still decode.

/// A Kubernetes pod UID, the key ZDS uses for a workload.
public struct PodUID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: PodUID, b: PodUID) -> Bool { a.rawValue < b.rawValue }
}

/// What ZDS says about a pod: enough to find its workload entry and its identity.
public struct WorkloadInfo: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var namespace: String
    public var serviceAccount: String

    public init(name: String, namespace: String, serviceAccount: String) {
        self.name = name
        self.namespace = namespace
        self.serviceAccount = serviceAccount
    }

    public var description: String { "\(namespace)/\(name) (service account \(serviceAccount))" }
}

/// The first message on every connection, sent by the node proxy (Zest) to the CNI agent.
public struct ZdsHello: Equatable, Sendable {
    /// The only version Istio defines (`Version.V1`).
    public static let v1 = ZdsHello(version: 1)

    public var version: Int32
    public init(version: Int32) { self.version = version }
}

/// A request from the CNI agent to the node proxy.
public enum WorkloadRequest: Equatable, Sendable {
    /// Start serving a pod; arrives with exactly one netns fd. `info` is optional on the
    /// wire, and its absence is a protocol violation the state machine rejects.
    case add(uid: PodUID, info: WorkloadInfo?)
    /// Before the snapshot ends: the pod still exists, but the CNI agent has no netns fd for it.
    case keep(uid: PodUID)
    /// Stop serving a pod.
    case delete(uid: PodUID)
    /// Every existing pod has been announced; anything not announced is gone.
    case snapshotSent

    /// Short name for logs and acknowledgement messages.
    public var kind: String {
        switch self {
        case .add: return "AddWorkload"
        case .keep: return "KeepWorkload"
        case .delete: return "DelWorkload"
        case .snapshotSent: return "SnapshotSent"
        }
    }
}

/// The node proxy's answer to one request: an empty error is an ACK, any text a NACK.
public struct WorkloadResponse: Equatable, Sendable {
    public var error: String
    public init(error: String) { self.error = error }
    public static let ack = WorkloadResponse(error: "")
    public var isAck: Bool { error.isEmpty }
}

/// Why a datagram is not a ZDS message this codec accepts.
public enum ZdsDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case wire(ProtobufWireError, message: String)
    case noKnownPayload(message: String, unknownFields: [UInt64])

    public var description: String {
        switch self {
        case .wire(let e, let m):
            return "malformed \(m): \(e)"
        case .noKnownPayload(let m, let fields) where fields.isEmpty:
            return "\(m) carries no payload"
        case .noKnownPayload(let m, let fields):
            let list = fields.map(String.init).joined(separator: ", ")
            return "\(m) carries only unknown payload field(s) \(list); this Zest speaks ZDS v1 (add=1, del=2, snapshot_sent=3, keep=5)"
        }
    }
}

// MARK: - Field numbers

private enum Field {
    static let helloVersion: UInt64 = 1
    static let infoName: UInt64 = 1
    static let infoNamespace: UInt64 = 2
    static let infoServiceAccount: UInt64 = 3
    static let addUID: UInt64 = 1
    static let addWorkloadInfo: UInt64 = 2
    static let keepUID: UInt64 = 1
    static let delUID: UInt64 = 2
    static let requestAdd: UInt64 = 1
    static let requestDel: UInt64 = 2
    static let requestSnapshotSent: UInt64 = 3
    static let requestKeep: UInt64 = 5
    static let responseAck: UInt64 = 1
    static let ackError: UInt64 = 1
}

// MARK: - Encoding

extension ZdsHello {
    public func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.writeVarintField(Field.helloVersion, UInt64(bitPattern: Int64(version)))
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(ZdsDecodeError) {
        var version: Int32 = 0
        do {
            var r = ProtobufReader(bytes)
            while let (field, type) = try r.readTag() {
                guard field == Field.helloVersion else { try r.skip(field: field, wireType: type); continue }
                try expect(type, .varint, field: field, in: "ZdsHello")
                version = try decodeEnum(try r.readVarint(), field: "ZdsHello.version")
            }
        } catch { throw .wire(error, message: "ZdsHello") }
        self.init(version: version)
    }
}

extension WorkloadInfo {
    func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.writeStringField(Field.infoName, name)
        w.writeStringField(Field.infoNamespace, namespace)
        w.writeStringField(Field.infoServiceAccount, serviceAccount)
        return w.bytes
    }

    init(decoding bytes: ArraySlice<UInt8>) throws(ProtobufWireError) {
        self.init(name: "", namespace: "", serviceAccount: "")
        var r = ProtobufReader(bytes)
        while let (field, type) = try r.readTag() {
            switch field {
            case Field.infoName:
                try expect(type, .lengthDelimited, field: field, in: "WorkloadInfo")
                name = try r.readString(field: "WorkloadInfo.name")
            case Field.infoNamespace:
                try expect(type, .lengthDelimited, field: field, in: "WorkloadInfo")
                namespace = try r.readString(field: "WorkloadInfo.namespace")
            case Field.infoServiceAccount:
                try expect(type, .lengthDelimited, field: field, in: "WorkloadInfo")
                serviceAccount = try r.readString(field: "WorkloadInfo.service_account")
            default:
                try r.skip(field: field, wireType: type)
            }
        }
    }
}

extension WorkloadRequest {
    public func encoded() -> [UInt8] {
        var inner = ProtobufWriter()
        var w = ProtobufWriter()
        switch self {
        case .add(let uid, let info):
            inner.writeStringField(Field.addUID, uid.rawValue)
            if let info { inner.writeMessageField(Field.addWorkloadInfo, info.encoded()) }
            w.writeMessageField(Field.requestAdd, inner.bytes)
        case .keep(let uid):
            inner.writeStringField(Field.keepUID, uid.rawValue)
            w.writeMessageField(Field.requestKeep, inner.bytes)
        case .delete(let uid):
            inner.writeStringField(Field.delUID, uid.rawValue)
            w.writeMessageField(Field.requestDel, inner.bytes)
        case .snapshotSent:
            w.writeMessageField(Field.requestSnapshotSent, [])
        }
        return w.bytes
    }

    /// Decodes a request. As protobuf specifies for a oneof, when several payload fields
    /// arrive the last one wins.
    public init(decoding bytes: [UInt8]) throws(ZdsDecodeError) {
        var payload: WorkloadRequest?
        var unknown: [UInt64] = []
        do {
            var r = ProtobufReader(bytes)
            while let (field, type) = try r.readTag() {
                switch field {
                case Field.requestAdd:
                    try expect(type, .lengthDelimited, field: field, in: "WorkloadRequest")
                    payload = try decodeAdd(r.readLengthDelimited())
                case Field.requestKeep:
                    try expect(type, .lengthDelimited, field: field, in: "WorkloadRequest")
                    payload = .keep(uid: try decodeUID(r.readLengthDelimited(), field: Field.keepUID, message: "KeepWorkload"))
                case Field.requestDel:
                    try expect(type, .lengthDelimited, field: field, in: "WorkloadRequest")
                    payload = .delete(uid: try decodeUID(r.readLengthDelimited(), field: Field.delUID, message: "DelWorkload"))
                case Field.requestSnapshotSent:
                    try expect(type, .lengthDelimited, field: field, in: "WorkloadRequest")
                    var inner = ProtobufReader(try r.readLengthDelimited())
                    while let (f, t) = try inner.readTag() { try inner.skip(field: f, wireType: t) }
                    payload = .snapshotSent
                default:
                    unknown.append(field)
                    try r.skip(field: field, wireType: type)
                }
            }
        } catch { throw .wire(error, message: "WorkloadRequest") }
        guard let payload else { throw .noKnownPayload(message: "WorkloadRequest", unknownFields: unknown) }
        self = payload
    }
}

extension WorkloadResponse {
    public func encoded() -> [UInt8] {
        var ack = ProtobufWriter()
        ack.writeStringField(Field.ackError, error)
        var w = ProtobufWriter()
        w.writeMessageField(Field.responseAck, ack.bytes)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(ZdsDecodeError) {
        var error: String?
        var unknown: [UInt64] = []
        do {
            var r = ProtobufReader(bytes)
            while let (field, type) = try r.readTag() {
                guard field == Field.responseAck else {
                    unknown.append(field)
                    try r.skip(field: field, wireType: type)
                    continue
                }
                try expect(type, .lengthDelimited, field: field, in: "WorkloadResponse")
                var ack = ProtobufReader(try r.readLengthDelimited())
                var text = ""
                while let (f, t) = try ack.readTag() {
                    if f == Field.ackError {
                        try expect(t, .lengthDelimited, field: f, in: "Ack")
                        text = try ack.readString(field: "Ack.error")
                    } else {
                        try ack.skip(field: f, wireType: t)
                    }
                }
                error = text
            }
        } catch { throw .wire(error, message: "WorkloadResponse") }
        guard let error else { throw .noKnownPayload(message: "WorkloadResponse", unknownFields: unknown) }
        self.init(error: error)
    }
}

// MARK: - Decoding helpers

private func expect(_ got: ProtobufWireType, _ wanted: ProtobufWireType, field: UInt64,
                    in message: String) throws(ProtobufWireError) {
    guard got != wanted else { return }
    let name = wanted == .varint ? "a varint" : "length-delimited"
    throw .wrongWireType(field: field, message: message, expected: name, got: got.rawValue)
}

/// Proto3 enums are int32 on the wire; negative values arrive sign-extended to 64 bits.
private func decodeEnum(_ raw: UInt64, field: String) throws(ProtobufWireError) -> Int32 {
    let signed = Int64(bitPattern: raw)
    guard signed >= Int64(Int32.min), signed <= Int64(Int32.max) else {
        throw .enumOutOfRange(field: field, value: raw)
    }
    return Int32(signed)
}

private func decodeAdd(_ bytes: ArraySlice<UInt8>) throws(ProtobufWireError) -> WorkloadRequest {
    var uid = ""
    var info: WorkloadInfo?
    var r = ProtobufReader(bytes)
    while let (field, type) = try r.readTag() {
        switch field {
        case Field.addUID:
            try expect(type, .lengthDelimited, field: field, in: "AddWorkload")
            uid = try r.readString(field: "AddWorkload.uid")
        case Field.addWorkloadInfo:
            try expect(type, .lengthDelimited, field: field, in: "AddWorkload")
            info = try WorkloadInfo(decoding: r.readLengthDelimited())
        default:
            try r.skip(field: field, wireType: type)
        }
    }
    return .add(uid: PodUID(uid), info: info)
}

private func decodeUID(_ bytes: ArraySlice<UInt8>, field uidField: UInt64,
                       message: String) throws(ProtobufWireError) -> PodUID {
    var uid = ""
    var r = ProtobufReader(bytes)
    while let (field, type) = try r.readTag() {
        guard field == uidField else { try r.skip(field: field, wireType: type); continue }
        try expect(type, .lengthDelimited, field: field, in: message)
        uid = try r.readString(field: "\(message).uid")
    }
    return PodUID(uid)
}
