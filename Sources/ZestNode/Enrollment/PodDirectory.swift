import Foundation

/// A directory of pod files (`*.yaml`, `*.yml`, `*.json`): the desired set of enrolled
/// pods for `zest cni serve`. Adding a file enrolls a pod, removing it unenrolls it.
public struct PodDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The result of one scan: valid pods by uid, and one error per file that is not.
    public struct Scan: Sendable {
        public var pods: [PodUID: PodFile] = [:]
        public var errors: [String: String] = [:]
    }

    /// Reads every pod file. Two files claiming one uid are both reported as errors, so
    /// neither silently wins.
    public func scan() -> Scan {
        var result = Scan()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var owners: [PodUID: String] = [:]
        for name in names.sorted() where !name.hasPrefix(".") {
            let ext = (name as NSString).pathExtension.lowercased()
            guard PodFile.extensions.contains(ext) else { continue }
            let file = path + "/" + name
            do {
                let pod = try PodFile(contentsOf: file)
                if let other = owners[pod.uid] {
                    result.pods[pod.uid] = nil
                    result.errors[file] = "pod file \(file) repeats uid \(pod.uid) of \(other); remove one"
                    continue
                }
                owners[pod.uid] = file
                result.pods[pod.uid] = pod
            } catch {
                result.errors[file] = "\(error)"
            }
        }
        return result
    }

    /// Writes a pod file atomically (a hidden temporary file renamed into place), creating
    /// the directory if needed. Returns the file's path.
    @discardableResult
    public func write(_ pod: PodFile) throws -> String {
        let target = file(for: pod.uid)
        try writeAtomically(pod.yaml, to: target, temporary: path + "/.\(pod.uid.rawValue).tmp")
        return target
    }

    /// Removes the pod file(s) for `uid`; returns how many were removed.
    @discardableResult
    public func remove(uid: PodUID) -> Int {
        var removed = 0
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in names where PodFile.extensions.contains((name as NSString).pathExtension.lowercased()) {
            let file = path + "/" + name
            let named = (name as NSString).deletingPathExtension == uid.rawValue
            if named || (try? PodFile(contentsOf: file))?.uid == uid, unlink(file) == 0 { removed += 1 }
        }
        return removed
    }

    public func file(for uid: PodUID) -> String { path + "/\(uid.rawValue).yaml" }

    // MARK: - Acknowledgements

    /// Where `zest cni serve` records the newest node proxy's answer to a pod's request,
    /// so `zest cni add --wait` can report it: `<dir>/.acks/<uid>`, holding "ACK" or
    /// "NACK <reason>".
    public func acknowledgementFile(for uid: PodUID) -> String { path + "/.acks/\(uid.rawValue)" }

    /// The recorded answer for a pod, if there is one.
    public func acknowledgement(for uid: PodUID) -> WorkloadResponse? {
        guard case .success(let text) = readSmallTextFile(acknowledgementFile(for: uid), limit: 4096) else { return nil }
        if text == "ACK" { return .ack }
        return text.hasPrefix("NACK ") ? WorkloadResponse(error: String(text.dropFirst(5))) : nil
    }

    /// Records an answer atomically (temporary file renamed into place).
    public func recordAcknowledgement(_ response: WorkloadResponse, for uid: PodUID) throws {
        let target = acknowledgementFile(for: uid)
        try writeAtomically(response.isAck ? "ACK" : "NACK " + response.error, to: target, temporary: target + ".tmp")
    }

    public func clearAcknowledgement(for uid: PodUID) { unlink(acknowledgementFile(for: uid)) }

    /// Uids that have a recorded answer.
    public func acknowledgedUIDs() -> [PodUID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path + "/.acks")) ?? []
        return names.filter { !$0.hasSuffix(".tmp") }.map(PodUID.init)
    }
}

/// Writes `text` to `temporary`, then renames it over `target` (rename(2) is atomic), so
/// a reader never sees half a file. Creates the parent directory if needed.
private func writeAtomically(_ text: String, to target: String, temporary: String) throws {
    let parent = (target as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, target) == 0 else {
        let code = errno
        unlink(temporary)
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "rename to \(target): \(describe(code))"])
    }
}
