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
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let target = file(for: pod.uid)
        let temporary = path + "/.\(pod.uid.rawValue).tmp"
        try Data(pod.yaml.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "rename to \(target): \(describe(code))"])
        }
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
}
