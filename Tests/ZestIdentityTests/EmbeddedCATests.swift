import Foundation
import Glibc
import Testing
import ZestTestSupport
import ZestCore
@testable import ZestIdentity

@Suite struct EmbeddedCATests {
    static let id = SpiffeID("spiffe://cluster.local/ns/demo/sa/web")!

    @Test func firstStartCreatesRootAndRestartLoadsTheSameOne() throws {
        let tmp = TempDirectory()
        let state = tmp.file("state")
        let first = try EmbeddedCA.loadOrCreate(stateDirectory: state, trustDomain: "cluster.local")
        #expect(fileMode(tmp.file("state/root-key.pem")) == 0o600)
        #expect(fileMode(state) == 0o700)
        let second = try EmbeddedCA.loadOrCreate(stateDirectory: state, trustDomain: "cluster.local")
        #expect(second.authority.signingCertificate.isSameCertificate(as: first.authority.signingCertificate))
        // A leaf from the restarted CA verifies against the first run's root.
        let leaf = try second.fetchCertificate(for: Self.id, now: Date())
        #expect(chainFailure(leaf.leaf, intermediates: [], roots: first.authority.roots, at: Date()) == nil)
    }

    @Test func keyReadableByOthersIsRefused() throws {
        let tmp = TempDirectory()
        _ = try EmbeddedCA.loadOrCreate(stateDirectory: tmp.path, trustDomain: "cluster.local")
        chmod(tmp.file("root-key.pem"), 0o644)
        #expect(throws: IdentityError.insecureKeyFile(path: tmp.file("root-key.pem"), mode: 0o644)) {
            try EmbeddedCA.loadOrCreate(stateDirectory: tmp.path, trustDomain: "cluster.local")
        }
    }

    @Test func missingHalfOfTheRootPairIsAnErrorNotANewRoot() throws {
        let tmp = TempDirectory()
        _ = try EmbeddedCA.loadOrCreate(stateDirectory: tmp.path, trustDomain: "cluster.local")
        unlink(tmp.file("root-key.pem"))
        do {
            _ = try EmbeddedCA.loadOrCreate(stateDirectory: tmp.path, trustDomain: "cluster.local")
            Issue.record("a new root replaced a half-missing one")
        } catch {
            #expect(error.description.contains("root-key.pem is missing"))
        }
    }

    @Test func stateDirectoryThatIsAFileIsAClearError() throws {
        let tmp = TempDirectory()
        try tmp.write("notadir", "x")
        #expect(throws: IdentityError.unusableStateDirectory(path: tmp.file("notadir"), reason: "it exists but is not a directory")) {
            try EmbeddedCA.loadOrCreate(stateDirectory: tmp.file("notadir"), trustDomain: "cluster.local")
        }
    }

    /// Root reads any directory, so as root the check runs through `zest ca issue` as an
    /// unprivileged user (setpriv); as another user it runs in-process.
    @Test func unreadableStateDirectoryIsAnErrorAtStart() throws {
        let tmp = TempDirectory()
        let locked = tmp.file("locked")
        mkdir(locked, 0o000)
        defer { chmod(locked, 0o700) }
        if getuid() != 0 {
            do {
                _ = try EmbeddedCA.loadOrCreate(stateDirectory: locked, trustDomain: "cluster.local")
                Issue.record("an unreadable state directory was accepted")
            } catch {
                #expect(error.description.contains(locked))
            }
            return
        }
        chmod(tmp.path, 0o755)
        let binary = try #require(PackagePaths.zest, "the zest binary is built by `swift build --build-tests`")
        let r = try runCommand(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "ca", "issue",
                                "--state-dir", locked, "--identity", "spiffe://cluster.local/ns/a/sa/b",
                                "--out-dir", tmp.file("out")])
        #expect(r.status != 0, "an unreadable state directory was accepted")
        #expect(r.stderr.contains(locked), "the error names the directory: \(r.stderr)")
    }

    @Test func uncreatableStateDirectoryIsAnErrorAtStart() throws {
        let tmp = TempDirectory()
        try tmp.write("file", "x")
        do {
            _ = try EmbeddedCA.loadOrCreate(stateDirectory: tmp.file("file/sub"), trustDomain: "cluster.local")
            Issue.record("a state directory under a regular file was accepted")
        } catch {
            #expect(error.description.contains("state directory \(tmp.file("file/sub")) is unusable"))
        }
    }

    /// Writes an Istio cacerts directory: root → intermediate (ca-cert.pem), cert-chain.pem = intermediate + root.
    static func writeCACerts(_ tmp: TempDirectory, chain: Bool = true) throws -> (root: Certificate, intermediate: Certificate) {
        let (root, rootKey) = try CertificateAuthority.generateRoot(trustDomain: "cluster.local")
        let rootCA = try CertificateAuthority(signingCertificate: root, signingKey: rootKey, intermediates: [],
                                              roots: [root], trustDomain: "cluster.local", source: "root")
        let key = try PrivateKey.generateP256()
        let intermediate = try rootCA.signIntermediate(key: key, name: "cluster intermediate")
        try tmp.write("ca-cert.pem", intermediate.pem)
        try tmp.write("ca-key.pem", key.pemPKCS8())
        try tmp.write("root-cert.pem", root.pem)
        if chain { try tmp.write("cert-chain.pem", intermediate.pem + root.pem) }
        return (root, intermediate)
    }

    @Test func istioCACertsLayoutIssuesLeavesWithTheIntermediateInTheChain() throws {
        let tmp = TempDirectory()
        let (root, intermediate) = try Self.writeCACerts(tmp)
        let ca = try EmbeddedCA.loadIstioCACerts(directory: tmp.path, trustDomain: "cluster.local")
        let wc = try ca.fetchCertificate(for: Self.id, now: Date())
        #expect(wc.intermediates.count == 1 && wc.intermediates[0].isSameCertificate(as: intermediate))
        #expect(wc.roots.count == 1 && wc.roots[0].isSameCertificate(as: root))
        #expect(wc.leaf.isSigned(by: intermediate))
        #expect(chainFailure(wc.leaf, intermediates: wc.intermediates, roots: [root], at: Date()) == nil)
    }

    @Test func cacertsWithoutChainForAnIntermediateNamesTheMissingFile() throws {
        let tmp = TempDirectory()
        _ = try Self.writeCACerts(tmp, chain: false)
        #expect(throws: IdentityError.incompleteCACertsDirectory(path: tmp.path, missing: ["cert-chain.pem"])) {
            try EmbeddedCA.loadIstioCACerts(directory: tmp.path, trustDomain: "cluster.local")
        }
        let empty = TempDirectory()
        #expect(throws: IdentityError.incompleteCACertsDirectory(path: empty.path, missing: ["ca-cert.pem", "ca-key.pem", "root-cert.pem"])) {
            try EmbeddedCA.loadIstioCACerts(directory: empty.path, trustDomain: "cluster.local")
        }
    }

    @Test func cacertsWithMismatchedKeyNamesBothFiles() throws {
        let tmp = TempDirectory()
        _ = try Self.writeCACerts(tmp)
        try tmp.write("ca-key.pem", PrivateKey.generateP256().pemPKCS8())
        #expect(throws: IdentityError.keyDoesNotMatchCertificate(keySource: tmp.file("ca-key.pem"), certificateSource: tmp.file("ca-cert.pem"))) {
            try EmbeddedCA.loadIstioCACerts(directory: tmp.path, trustDomain: "cluster.local")
        }
    }

    @Test func cacertsWhoseSigningCertIsALeafIsRefused() throws {
        let tmp = TempDirectory()
        let ca = try EmbeddedCA.loadOrCreate(stateDirectory: tmp.file("s"), trustDomain: "cluster.local")
        let leaf = try ca.fetchCertificate(for: Self.id, now: Date())
        try tmp.write("ca-cert.pem", leaf.leaf.pem)
        try tmp.write("ca-key.pem", leaf.privateKey.pemPKCS8())
        try tmp.write("root-cert.pem", ca.authority.signingCertificate.pem)
        try tmp.write("cert-chain.pem", ca.authority.signingCertificate.pem)
        do {
            _ = try EmbeddedCA.loadIstioCACerts(directory: tmp.path, trustDomain: "cluster.local")
            Issue.record("a leaf was accepted as a signing certificate")
        } catch {
            #expect(error == .invalidSigningCertificate(source: tmp.file("ca-cert.pem"), reason: "basicConstraints is not CA:TRUE"))
        }
    }
}
