import Glibc

/// Whether privileged tests (network namespaces, nftables, setns) may run here.
///
/// As root they run. Without root they skip with a one-line reason, except in CI
/// (`CI=true`), where they run anyway and fail: a privileged test that skips in CI hides
/// a broken setup.
public enum Privilege {
    public static var isRoot: Bool { geteuid() == 0 }
    public static var isCI: Bool {
        guard let v = getenv("CI") else { return false }
        return String(cString: v).lowercased() == "true" || String(cString: v) == "1"
    }
    public static var canRunPrivilegedTests: Bool { isRoot || isCI }
    public static let skipReason = "needs root (network namespaces, nftables, setns); run as root or with CI=true"
}
