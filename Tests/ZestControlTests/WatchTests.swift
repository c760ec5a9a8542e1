import Foundation
import Synchronization
import Testing
import ZestControl
import ZestPolicy
import ZestTestSupport

/// File changes are applied as one snapshot; an invalid change keeps the previous state.
@Suite struct WatchTests {
    final class Results: Sendable {
        let items = Mutex<[ConfigStore.ReloadResult]>([])
        func append(_ r: ConfigStore.ReloadResult) { items.withLock { $0.append(r) } }
        var rejected: [ConfigErrors] {
            items.withLock { $0.compactMap { if case .rejected(let e) = $0 { return e } else { return nil } } }
        }
        var applied: Int { items.withLock { $0.filter { if case .applied = $0 { return true } else { return false } }.count } }
    }

    static func workloads(_ n: Int) -> String {
        "workloads:\n" + (0..<n).map { "- {uid: w\($0), name: w\($0), namespace: default, workloadIps: [\"10.0.0.\($0 + 1)\"]}\n" }.joined()
    }

    func tempFile(_ text: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zest-watch-\(UUID().uuidString).yaml").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// Replaces the file's content by rename, as editors and ConfigMap mounts do.
    func replace(_ path: String, with text: String) throws {
        let tmp = path + ".new"
        try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
        _ = rename(tmp, path)
    }

    @Test func aChangeIsAppliedAsOneSnapshot() throws {
        let path = tempFile(Self.workloads(1))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try ConfigStore(files: [path])
        let results = Results()
        let watcher = ConfigWatcher(store: store, interval: .milliseconds(10)) { results.append($0) }
        defer { watcher.stop() }
        var reader = MeshStateReader(store.cell)
        #expect(reader.current().workloads.count == 1)
        try replace(path, with: Self.workloads(5))
        var sizes = Set<Int>()
        let changed = waitUntil(timeout: .seconds(10)) {
            let s = reader.current()
            sizes.insert(s.workloads.count)
            return s.workloads.count == 5
        }
        #expect(changed)
        // Only the old and the new snapshot were ever visible.
        #expect(sizes.isSubset(of: [1, 5]))
        #expect(results.applied >= 1 && results.rejected.isEmpty)
    }

    @Test func anInvalidChangeKeepsThePreviousStateAndSaysWhere() throws {
        let path = tempFile(Self.workloads(2))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try ConfigStore(files: [path])
        let results = Results()
        let watcher = ConfigWatcher(store: store, interval: .milliseconds(10)) { results.append($0) }
        defer { watcher.stop() }
        let before = store.cell.load()
        try replace(path, with: Self.workloads(2) + "- {uid: bad, name: bad, namespace: default, workloadIps: [\"10.0.0.999\"]}\n")
        #expect(waitUntil(timeout: .seconds(10)) { !results.rejected.isEmpty })
        #expect(store.cell.load() === before)
        let error = try #require(results.rejected.first?.errors.first)
        #expect(error.file == path && error.line == 4 && error.field == "workloads[2].workloadIps[0]", "\(error)")
        // A later valid change is applied again.
        try replace(path, with: Self.workloads(3))
        #expect(waitUntil(timeout: .seconds(10)) { store.cell.load().workloads.count == 3 })
    }

    @Test func startingFromAnInvalidFileFails() {
        let path = tempFile("workloads: [{name: a}]\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigErrors.self) { try ConfigStore(files: [path]) }
    }
}
