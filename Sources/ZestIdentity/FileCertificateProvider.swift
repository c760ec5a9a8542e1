import Foundation
import Glibc
import Synchronization
import ZestCore

/// Certificates from files that another agent writes (cert-manager's csi-driver, a SPIRE
/// helper, a mounted Kubernetes Secret): a chain (leaf first), a key and the roots.
/// `reloadIfChanged()` notices new content, including Kubernetes' atomic `..data` symlink
/// swap (stat follows the links, so the device/inode/mtime/size of what they point to changes).
public final class FileCertificateProvider: CertificateProvider {
    public struct Paths: Sendable, Equatable {
        public var certificateChain: String
        public var privateKey: String
        public var roots: String
        public init(certificateChain: String, privateKey: String, roots: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.roots = roots
        }
    }

    public let paths: Paths
    private struct State {
        var certificate: WorkloadCertificate
        var fingerprint: [FileFingerprint]
    }
    private let state: Mutex<State>

    /// Loads the files now; any problem is an error naming the file.
    public init(paths: Paths) throws(IdentityError) {
        self.paths = paths
        let fingerprint = Self.fingerprint(paths)
        state = Mutex(State(certificate: try Self.load(paths), fingerprint: fingerprint))
    }

    /// The certificate currently loaded.
    public var current: WorkloadCertificate { state.withLock { $0.certificate } }

    /// Reloads when any file changed since the last load. Returns whether a new certificate
    /// was loaded. On a bad new version the old certificate stays and the error is thrown
    /// (the next call retries, since the fingerprint is only recorded on success).
    @discardableResult
    public func reloadIfChanged() throws(IdentityError) -> Bool {
        let now = Self.fingerprint(paths)
        guard now != state.withLock({ $0.fingerprint }) else { return false }
        let loaded = try Self.load(paths)
        // Files may have moved again while loading; record what was seen before reading.
        state.withLock { $0 = State(certificate: loaded, fingerprint: now) }
        return true
    }

    public func fetchCertificate(for identity: SpiffeID, now: Date) throws(IdentityError) -> WorkloadCertificate {
        _ = try? reloadIfChanged()
        let cert = current
        guard cert.identity == identity else {
            throw .identityMismatch(requested: identity.uri, got: cert.identity.uri)
        }
        return cert
    }

    static func load(_ paths: Paths) throws(IdentityError) -> WorkloadCertificate {
        let chain = try Certificate.load(chainFile: paths.certificateChain)
        let key = try PrivateKey(file: paths.privateKey)
        let roots = try Certificate.load(chainFile: paths.roots)
        let intermediates = chain.dropFirst().filter { c in !roots.contains { $0.isSameCertificate(as: c) } }
        do {
            return try WorkloadCertificate(leaf: chain[0], privateKey: key, intermediates: Array(intermediates),
                                           roots: roots, keySource: paths.privateKey,
                                           certificateSource: paths.certificateChain)
        } catch .missingSpiffeIdentity(_, let reason) {
            throw .missingSpiffeIdentity(source: paths.certificateChain, reason: reason)
        }
    }

    static func fingerprint(_ paths: Paths) -> [FileFingerprint] {
        [paths.certificateChain, paths.privateKey, paths.roots].map(FileFingerprint.init(path:))
    }
}

/// What identifies one version of a file: device, inode, size and modification time of the
/// file a path resolves to (`stat`, which follows symlinks). Missing files fingerprint as zero.
struct FileFingerprint: Equatable, Sendable {
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var size: Int64 = 0
    var mtimeSeconds: Int = 0
    var mtimeNanoseconds: Int = 0

    init(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtimeSeconds = st.st_mtim.tv_sec
        mtimeNanoseconds = st.st_mtim.tv_nsec
    }
}
