import Foundation
import Yams

/// A pod to enroll, as `zest cni` reads it from a small YAML (or JSON) file:
///
/// ```yaml
/// uid: 0e5f1c9a-1111-4222-8333-444455556666   # optional; defaults to the file name
/// name: web-0
/// namespace: shop
/// serviceAccount: web                          # optional; defaults to "default"
/// netns: /var/run/netns/web-0                  # the pod's network namespace
/// ```
public struct PodFile: Equatable, Sendable {
    public var uid: PodUID
    public var info: WorkloadInfo
    public var netnsPath: String

    public init(uid: PodUID, info: WorkloadInfo, netnsPath: String) {
        self.uid = uid
        self.info = info
        self.netnsPath = netnsPath
    }

    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case notAMapping(path: String)
        case missing(key: String, path: String)
        case notAString(key: String, path: String)
        case badUID(String, path: String)

        public var description: String {
            switch self {
            case .unreadable(let p, let r): return "cannot read pod file \(p): \(r)"
            case .notAMapping(let p): return "pod file \(p) must be a mapping of uid, name, namespace, serviceAccount, netns"
            case .missing(let k, let p): return "pod file \(p) lacks '\(k)'"
            case .notAString(let k, let p): return "'\(k)' in pod file \(p) must be a non-empty string"
            case .badUID(let u, let p): return "uid '\(u)' in pod file \(p) may hold only A-Z a-z 0-9 . _ - (at most 128)"
            }
        }
    }

    /// File extensions `zest cni serve` reads from its pods directory.
    public static let extensions: Set<String> = ["yaml", "yml", "json"]

    /// Parses a pod file's text; `path` names it in errors and gives the default uid.
    public init(parsing text: String, path: String) throws(Error) {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch { throw .unreadable(path: path, reason: "\(error)") }
        guard let map = node as? [String: Any] else { throw .notAMapping(path: path) }
        func string(_ keys: [String], default fallback: String? = nil) throws(Error) -> String {
            guard let key = keys.first(where: { map[$0] != nil }) else {
                guard let fallback else { throw .missing(key: keys[0], path: path) }
                return fallback
            }
            guard let value = map[key] as? String, !value.isEmpty else { throw .notAString(key: key, path: path) }
            return value
        }
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let uid = try string(["uid"], default: stem)
        guard PodFile.isValidUID(uid) else { throw .badUID(uid, path: path) }
        self.init(uid: PodUID(uid),
                  info: WorkloadInfo(name: try string(["name"]), namespace: try string(["namespace"]),
                                     serviceAccount: try string(["serviceAccount", "service_account"], default: "default")),
                  netnsPath: try string(["netns"]))
    }

    /// Largest pod file read; a pod file holds five short fields.
    public static let maxFileSize = 64 * 1024

    /// Reads (open(2)/read(2), at most `maxFileSize` bytes) and parses one file. Plain
    /// reads rather than Foundation's, which leaked a buffer per call under LeakSanitizer
    /// in a process that rereads its directory five times a second.
    public init(contentsOf path: String) throws(Error) {
        let text: String
        switch readSmallTextFile(path, limit: Self.maxFileSize) {
        case .success(let t): text = t
        case .failure(let reason): throw .unreadable(path: path, reason: reason.text)
        }
        try self.init(parsing: text, path: path)
    }

    /// The file's text, in the format `init(parsing:path:)` reads.
    public var yaml: String {
        """
        uid: \(quoted(uid.rawValue))
        name: \(quoted(info.name))
        namespace: \(quoted(info.namespace))
        serviceAccount: \(quoted(info.serviceAccount))
        netns: \(quoted(netnsPath))

        """
    }

    /// Uids double as file names, so they are restricted to a safe alphabet.
    public static func isValidUID(_ uid: String) -> Bool {
        !uid.isEmpty && uid.utf8.count <= 128 && uid != "." && uid != ".."
            && uid.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}

/// Why a small file could not be read, in words for an operator.
struct FileReadFailure: Swift.Error { let text: String }

/// Reads a whole UTF-8 file of at most `limit` bytes with open(2)/read(2).
func readSmallTextFile(_ path: String, limit: Int) -> Result<String, FileReadFailure> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(FileReadFailure(text: describe(errno))) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { buf in retryingEINTR { read(fd, buf.baseAddress, buf.count) } }
        guard n >= 0 else { return .failure(FileReadFailure(text: describe(errno))) }
        if n == 0 { break }
        bytes += chunk[..<n]
        guard bytes.count <= limit else {
            return .failure(FileReadFailure(text: "larger than \(limit) bytes; a pod file holds five short fields"))
        }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(FileReadFailure(text: "not UTF-8 text")) }
    return .success(text)
}

/// A YAML double-quoted scalar, so names with ':' or '#' survive the round trip.
private func quoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}
