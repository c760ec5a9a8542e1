import Foundation
import Glibc
import Synchronization
import Testing
import ZestCore
import ZestTestSupport
@testable import ZestIdentity

/// A directory laid out as Kubernetes mounts a Secret: `tls.crt -> ..data/tls.crt`,
/// `..data -> ..<version>`, updated by an atomic rename of the `..data` symlink.
final class KubernetesSecretDirectory {
    let tmp = TempDirectory()
    private var version = 0

    func publish(_ wc: WorkloadCertificate, key: String? = nil) throws {
        version += 1
        let dir = "..v\(version)"
        mkdir(tmp.file(dir), 0o755)
        try tmp.write("\(dir)/tls.crt", wc.chainPEM)
        try tmp.write("\(dir)/tls.key", key ?? wc.privateKey.pemPKCS8())
        try tmp.write("\(dir)/ca.crt", wc.rootsPEM)
        symlink(dir, tmp.file("..data_tmp"))
        rename(tmp.file("..data_tmp"), tmp.file("..data"))
        for name in ["tls.crt", "tls.key", "ca.crt"] where access(tmp.file(name), F_OK) != 0 {
            symlink("..data/\(name)", tmp.file(name))
        }
    }

    var paths: FileCertificateProvider.Paths {
        .init(certificateChain: tmp.file("tls.crt"), privateKey: tmp.file("tls.key"), roots: tmp.file("ca.crt"))
    }
}

@Suite struct FileCertificateProviderTests {
    static let id = SpiffeID("spiffe://cluster.local/ns/demo/sa/web")!

    func makeCA() throws -> EmbeddedCA {
        let (root, key) = try CertificateAuthority.generateRoot(trustDomain: "cluster.local")
        return EmbeddedCA(authority: try CertificateAuthority(signingCertificate: root, signingKey: key, intermediates: [],
                                                              roots: [root], trustDomain: "cluster.local", source: "test"))
    }

    @Test func symlinkSwapIsNoticedAndLoaded() throws {
        let ca = try makeCA()
        let secret = KubernetesSecretDirectory()
        let first = try ca.fetchCertificate(for: Self.id, now: Date())
        try secret.publish(first)
        let provider = try FileCertificateProvider(paths: secret.paths)
        #expect(provider.current.leaf.serialNumberHex == first.leaf.serialNumberHex)
        #expect(try provider.reloadIfChanged() == false)

        let second = try ca.fetchCertificate(for: Self.id, now: Date())
        try secret.publish(second)
        #expect(try provider.reloadIfChanged() == true)
        #expect(provider.current.leaf.serialNumberHex == second.leaf.serialNumberHex)
        #expect(try provider.fetchCertificate(for: Self.id, now: Date()).leaf.serialNumberHex == second.leaf.serialNumberHex)
    }

    @Test func badNewVersionKeepsTheOldCertificateAndNamesTheFile() throws {
        let ca = try makeCA()
        let secret = KubernetesSecretDirectory()
        let first = try ca.fetchCertificate(for: Self.id, now: Date())
        try secret.publish(first)
        let provider = try FileCertificateProvider(paths: secret.paths)
        let second = try ca.fetchCertificate(for: Self.id, now: Date())
        try secret.publish(second, key: PrivateKey.generateP256().pemPKCS8())
        #expect(throws: IdentityError.keyDoesNotMatchCertificate(keySource: secret.paths.privateKey, certificateSource: secret.paths.certificateChain)) {
            try provider.reloadIfChanged()
        }
        #expect(provider.current.leaf.serialNumberHex == first.leaf.serialNumberHex)
        // Once fixed, the next poll loads it.
        try secret.publish(second)
        #expect(try provider.reloadIfChanged())
        #expect(provider.current.leaf.serialNumberHex == second.leaf.serialNumberHex)
    }

    @Test func requestForAnotherIdentityIsRefused() throws {
        let ca = try makeCA()
        let secret = KubernetesSecretDirectory()
        try secret.publish(try ca.fetchCertificate(for: Self.id, now: Date()))
        let provider = try FileCertificateProvider(paths: secret.paths)
        let other = SpiffeID("spiffe://cluster.local/ns/demo/sa/other")!
        #expect(throws: IdentityError.identityMismatch(requested: other.uri, got: Self.id.uri)) {
            try provider.fetchCertificate(for: other, now: Date())
        }
    }

    @Test func watcherThreadReportsTheNewCertificate() throws {
        let ca = try makeCA()
        let secret = KubernetesSecretDirectory()
        try secret.publish(try ca.fetchCertificate(for: Self.id, now: Date()))
        let provider = try FileCertificateProvider(paths: secret.paths)
        let seen = Mutex<[String]>([])
        let watcher = FileCertificateWatcher(provider: provider, interval: .milliseconds(20)) { result in
            if case .success(let wc) = result { seen.withLock { $0.append(wc.leaf.serialNumberHex) } }
        }
        defer { watcher.stop() }
        let second = try ca.fetchCertificate(for: Self.id, now: Date())
        try secret.publish(second)
        #expect(waitUntil(timeout: .seconds(5)) { seen.withLock { $0 } == [second.leaf.serialNumberHex] })
        watcher.stop()
        #expect(waitUntil(timeout: .seconds(5)) { watcher.isFinished })
    }
}
