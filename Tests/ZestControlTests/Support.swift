import Foundation
import ZestCore
import ZestControl
import ZestPolicy

/// Paths of the fixture files beside this source file (copies of ../shared/examples plus
/// local-config files), and helpers to ask the loaded state questions.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func load(_ names: String...) throws -> LoadedConfig {
        try ConfigLoader().load(files: names.map(path))
    }

    /// Loads YAML text written to a temporary file; returns the config or the errors.
    static func load(text: String, name: String = "test.yaml") -> Result<LoadedConfig, ConfigErrors> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zest-control-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        do throws(ConfigErrors) {
            return .success(try ConfigLoader().load(files: [file]))
        } catch {
            return .failure(error)
        }
    }
}

extension MeshState {
    /// Authorizes a connection to `to` from `from` (a SPIFFE URI or nil for plaintext).
    func check(from: String?, fromIP: String, to: String) -> AuthorizationDecision {
        let dst = SocketAddress(to)!
        let request = AuthorizationRequest(peer: from.flatMap { SpiffeID($0) }, source: IPAddress(fromIP)!, destination: dst)
        return policies.authorize(request, workload: workload(at: NetworkAddress(ip: dst.ip)))
    }
}
