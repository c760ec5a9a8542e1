/// The protobuf binary wire format, reduced to what ZDS needs: varints and length-delimited
/// fields are read and written; fixed32/fixed64 fields are skipped when unknown.
///
/// A tiny hand-written codec rather than a generated one: the ZDS schema has eight small
/// messages, and every read here is bounds-checked and throws `ProtobufWireError` instead
/// of trapping, so hostile bytes from the socket can never crash the node agent.
enum ProtobufWireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// Why a byte sequence is not a valid protobuf message.
public enum ProtobufWireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(offset: Int, needed: String)
    case varintTooLong(offset: Int)
    case invalidWireType(UInt8, offset: Int)
    case fieldNumberZero(offset: Int)
    case fieldNumberTooLarge(UInt64, offset: Int)
    case lengthOutOfBounds(UInt64, remaining: Int, offset: Int)
    case groupsUnsupported(field: UInt64)
    case wrongWireType(field: UInt64, message: String, expected: String, got: UInt8)
    case invalidUTF8(field: String)
    case enumOutOfRange(field: String, value: UInt64)

    public var description: String {
        switch self {
        case .truncated(let o, let what):
            return "protobuf message ends at byte \(o) in the middle of \(what)"
        case .varintTooLong(let o):
            return "protobuf varint at byte \(o) is longer than 10 bytes or overflows 64 bits"
        case .invalidWireType(let t, let o):
            return "protobuf tag at byte \(o) has wire type \(t), which does not exist"
        case .fieldNumberZero(let o):
            return "protobuf tag at byte \(o) has field number 0, which is reserved"
        case .fieldNumberTooLarge(let n, let o):
            return "protobuf tag at byte \(o) has field number \(n), above the 2^29-1 limit"
        case .lengthOutOfBounds(let n, let r, let o):
            return "protobuf field at byte \(o) claims \(n) bytes but only \(r) remain"
        case .groupsUnsupported(let f):
            return "protobuf field \(f) uses the deprecated group encoding, which ZDS never sends"
        case .wrongWireType(let f, let m, let e, let g):
            return "field \(f) of \(m) must be \(e) but arrived with wire type \(g)"
        case .invalidUTF8(let f):
            return "string field \(f) is not valid UTF-8"
        case .enumOutOfRange(let f, let v):
            return "enum field \(f) holds \(v), which does not fit in 32 bits"
        }
    }
}

/// Reads fields one at a time from a byte buffer, never past its end.
struct ProtobufReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    var isAtEnd: Bool { index >= bytes.endIndex }

    /// Byte offset from the start of this buffer, for error messages.
    private var offset: Int { index - bytes.startIndex }

    mutating func readVarint() throws(ProtobufWireError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.endIndex else { throw .truncated(offset: offset, needed: "a varint") }
            let byte = bytes[index]
            index += 1
            // The tenth byte may only carry the single remaining bit of a 64-bit value.
            if shift == 63 && byte > 1 { throw .varintTooLong(offset: start) }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Reads the next tag; nil at the end of the buffer.
    mutating func readTag() throws(ProtobufWireError) -> (field: UInt64, wireType: ProtobufWireType)? {
        guard !isAtEnd else { return nil }
        let start = offset
        let key = try readVarint()
        let rawType = UInt8(key & 7)
        guard let wireType = ProtobufWireType(rawValue: rawType) else {
            throw .invalidWireType(rawType, offset: start)
        }
        let field = key >> 3
        guard field != 0 else { throw .fieldNumberZero(offset: start) }
        guard field <= 0x1fff_ffff else { throw .fieldNumberTooLarge(field, offset: start) }
        return (field, wireType)
    }

    mutating func readLengthDelimited() throws(ProtobufWireError) -> ArraySlice<UInt8> {
        let start = offset
        let length = try readVarint()
        let remaining = bytes.endIndex - index
        guard length <= UInt64(remaining) else {
            throw .lengthOutOfBounds(length, remaining: remaining, offset: start)
        }
        let end = index + Int(length)
        defer { index = end }
        return bytes[index..<end]
    }

    mutating func readString(field: String) throws(ProtobufWireError) -> String {
        let raw = try readLengthDelimited()
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return text
    }

    /// Skips the value of a field this codec does not know, as protobuf requires.
    mutating func skip(field: UInt64, wireType: ProtobufWireType) throws(ProtobufWireError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed64: try advance(8, what: "a fixed64 value")
        case .fixed32: try advance(4, what: "a fixed32 value")
        case .startGroup, .endGroup: throw .groupsUnsupported(field: field)
        }
    }

    private mutating func advance(_ count: Int, what: String) throws(ProtobufWireError) {
        guard bytes.endIndex - index >= count else { throw .truncated(offset: offset, needed: what) }
        index += count
    }
}

/// Appends fields in protobuf wire format. Proto3 leaves fields at their default value
/// out of the encoding, so empty strings and zero varints are omitted by the callers.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func writeTag(field: UInt64, wireType: ProtobufWireType) {
        writeVarint(field << 3 | UInt64(wireType.rawValue))
    }

    mutating func writeVarintField(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        writeTag(field: field, wireType: .varint)
        writeVarint(value)
    }

    mutating func writeStringField(_ field: UInt64, _ value: String) {
        guard !value.isEmpty else { return }
        writeBytesField(field, Array(value.utf8))
    }

    /// Writes an embedded message; it is written even when empty, because its presence
    /// is what selects a oneof case (`SnapshotSent {}` encodes as two bytes).
    mutating func writeMessageField(_ field: UInt64, _ message: [UInt8]) {
        writeBytesField(field, message)
    }

    private mutating func writeBytesField(_ field: UInt64, _ value: [UInt8]) {
        writeTag(field: field, wireType: .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }
}
