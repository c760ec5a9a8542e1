import Foundation
import Glibc
import ZestCore

/// The embedded CA: signs workload leaves in-process. Its root is generated on first start
/// and kept in a state directory (`root-cert.pem`, `root-key.pem` 0600), or comes from an
/// operator's Istio `cacerts` directory.
public struct EmbeddedCA: CertificateProvider {
    public let authority: CertificateAuthority
    /// Lifetime of issued leaves (default 24 h, as Istio's SECRET_TTL).
    public let leafLifetime: Duration

    public static let rootCertFile = "root-cert.pem"
    public static let rootKeyFile = "root-key.pem"

    public init(authority: CertificateAuthority, leafLifetime: Duration = .seconds(86400)) {
        self.authority = authority
        self.leafLifetime = leafLifetime
    }

    public func fetchCertificate(for identity: SpiffeID, now: Date) throws(IdentityError) -> WorkloadCertificate {
        try authority.issue(for: identity, lifetime: leafLifetime, now: now)
    }

    /// Loads the root from `directory`, or generates and persists one there on first start.
    /// The directory is created 0700 when missing; an unusable one is an error now, not later.
    /// A key file that others may read is refused.
    public static func loadOrCreate(stateDirectory directory: String, trustDomain: String,
                                    leafLifetime: Duration = .seconds(86400)) throws(IdentityError) -> EmbeddedCA {
        try prepareStateDirectory(directory)
        let certPath = directory + "/" + rootCertFile
        let keyPath = directory + "/" + rootKeyFile
        let haveCert = access(certPath, F_OK) == 0
        let haveKey = access(keyPath, F_OK) == 0
        if haveCert != haveKey {
            let missing = haveCert ? keyPath : certPath
            throw .unusableStateDirectory(path: directory,
                reason: "\(missing) is missing while its pair exists; restore it, or remove both files to make a new root (all workloads must then get new certificates)")
        }
        if !haveCert {
            let (cert, key) = try CertificateAuthority.generateRoot(trustDomain: trustDomain)
            try writeFileAtomically(keyPath, key.pemPKCS8(), mode: 0o600)
            try writeFileAtomically(certPath, cert.pem, mode: 0o644)
        }
        var st = stat()
        guard stat(keyPath, &st) == 0 else {
            throw .unreadableFile(path: keyPath, reason: String(cString: strerror(errno)))
        }
        if st.st_mode & 0o077 != 0 { throw .insecureKeyFile(path: keyPath, mode: st.st_mode & 0o777) }
        let roots = try Certificate.load(chainFile: certPath)
        let key = try PrivateKey(file: keyPath)
        let authority = try CertificateAuthority(signingCertificate: roots[0], signingKey: key, intermediates: [],
                                                 roots: roots, trustDomain: trustDomain, source: certPath)
        return EmbeddedCA(authority: authority, leafLifetime: leafLifetime)
    }

    /// Loads an operator-supplied CA in Istio's `cacerts` layout: `ca-cert.pem` (signing
    /// certificate), `ca-key.pem`, `root-cert.pem`, and `cert-chain.pem` (the signing
    /// certificate's chain up to the root; needed when ca-cert.pem is an intermediate).
    public static func loadIstioCACerts(directory: String, trustDomain: String,
                                        leafLifetime: Duration = .seconds(86400)) throws(IdentityError) -> EmbeddedCA {
        let path = { (name: String) in directory + "/" + name }
        let required = ["ca-cert.pem", "ca-key.pem", "root-cert.pem"]
        let missing = required.filter { access(path($0), F_OK) != 0 }
        guard missing.isEmpty else { throw .incompleteCACertsDirectory(path: directory, missing: missing) }
        let signing = try Certificate.load(chainFile: path("ca-cert.pem"))[0]
        let key = try PrivateKey(file: path("ca-key.pem"))
        let roots = try Certificate.load(chainFile: path("root-cert.pem"))
        var intermediates: [Certificate] = []
        if access(path("cert-chain.pem"), F_OK) == 0 {
            let chain = try Certificate.load(chainFile: path("cert-chain.pem"))
            // cert-chain.pem usually repeats ca-cert.pem first and the root last; keep what lies between.
            intermediates = chain.filter { c in
                !c.isSameCertificate(as: signing) && !roots.contains { $0.isSameCertificate(as: c) }
            }
        } else if !signing.isSelfSigned {
            throw .incompleteCACertsDirectory(path: directory, missing: ["cert-chain.pem"])
        }
        guard key.matches(signing) else {
            throw .keyDoesNotMatchCertificate(keySource: path("ca-key.pem"), certificateSource: path("ca-cert.pem"))
        }
        let authority = try CertificateAuthority(signingCertificate: signing, signingKey: key,
                                                 intermediates: intermediates, roots: roots,
                                                 trustDomain: trustDomain, source: path("ca-cert.pem"))
        return EmbeddedCA(authority: authority, leafLifetime: leafLifetime)
    }

    /// Creates `directory` (0700) if missing and checks that it is a writable directory.
    static func prepareStateDirectory(_ directory: String) throws(IdentityError) {
        var st = stat()
        if stat(directory, &st) != 0 {
            guard errno == ENOENT else {
                throw .unusableStateDirectory(path: directory, reason: String(cString: strerror(errno)))
            }
            guard mkdir(directory, 0o700) == 0 else {
                throw .unusableStateDirectory(path: directory, reason: "cannot create it: \(String(cString: strerror(errno)))")
            }
            return
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw .unusableStateDirectory(path: directory, reason: "it exists but is not a directory")
        }
        guard access(directory, R_OK | W_OK | X_OK) == 0 else {
            throw .unusableStateDirectory(path: directory,
                reason: "Zest may not read and write it (\(String(cString: strerror(errno)))); fix its owner or mode")
        }
    }
}
