import Foundation
import Testing
import ZestCore
@testable import ZestIdentity

/// Malformed or mismatched PEM input gives an error naming the file and the problem.
@Suite struct BadInputTests {
    @Test func missingFileNamesThePath() {
        #expect(throws: IdentityError.unreadableFile(path: "/nonexistent/zest/cert.pem", reason: "No such file or directory")) {
            try Certificate.load(chainFile: "/nonexistent/zest/cert.pem")
        }
    }

    @Test func fileWithoutPEMBlockSaysSo() throws {
        let tmp = TempDirectory()
        try tmp.write("cert.pem", "hello, not a certificate\n")
        do {
            _ = try Certificate.load(chainFile: tmp.file("cert.pem"))
            Issue.record("garbage parsed as a certificate")
        } catch {
            #expect(error.description.hasPrefix(tmp.file("cert.pem") + ": expected a certificate"))
            #expect(error.description.contains("no '-----BEGIN CERTIFICATE-----' block"))
        }
    }

    @Test func corruptBase64InsideAPEMBlockIsReportedAsCorrupt() throws {
        let tmp = TempDirectory()
        try tmp.write("cert.pem", "-----BEGIN CERTIFICATE-----\nAAAA!!!!notbase64\n-----END CERTIFICATE-----\n")
        do {
            _ = try Certificate.load(chainFile: tmp.file("cert.pem"))
            Issue.record("corrupt PEM parsed")
        } catch {
            #expect(error.description.contains(tmp.file("cert.pem")))
            #expect(error.description.contains("certificate 1 is corrupt"))
        }
    }

    @Test func truncatedSecondCertificateInAChainIsReported() throws {
        let tmp = TempDirectory()
        let (root, _) = try CertificateAuthority.generateRoot(trustDomain: "cluster.local")
        let pem = root.pem
        try tmp.write("chain.pem", pem + String(pem.prefix(pem.count / 2)))
        do {
            _ = try Certificate.load(chainFile: tmp.file("chain.pem"))
            Issue.record("a truncated chain parsed")
        } catch {
            #expect(error.description.contains("certificate 2 is corrupt"))
        }
    }

    @Test func garbageKeyFileNamesTheFile() throws {
        let tmp = TempDirectory()
        try tmp.write("key.pem", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
        do {
            _ = try PrivateKey(file: tmp.file("key.pem"))
            Issue.record("garbage parsed as a key")
        } catch {
            #expect(error.description.hasPrefix(tmp.file("key.pem") + ": expected a private key"))
        }
        try tmp.write("empty.pem", "")
        #expect(throws: IdentityError.malformedPEM(source: tmp.file("empty.pem"), expected: "a private key",
                                                   detail: "no '-----BEGIN PRIVATE KEY-----' block was found")) {
            try PrivateKey(file: tmp.file("empty.pem"))
        }
    }

    @Test func mismatchedKeyAndCertificateNameBothFiles() throws {
        let tmp = TempDirectory()
        let ca = try EmbeddedCA.loadOrCreate(stateDirectory: tmp.file("ca"), trustDomain: "cluster.local")
        let wc = try ca.fetchCertificate(for: SpiffeID("spiffe://cluster.local/ns/a/sa/b")!, now: Date())
        try tmp.write("cert.pem", wc.chainPEM)
        try tmp.write("key.pem", PrivateKey.generateP256().pemPKCS8())
        try tmp.write("roots.pem", wc.rootsPEM)
        #expect(throws: IdentityError.keyDoesNotMatchCertificate(keySource: tmp.file("key.pem"), certificateSource: tmp.file("cert.pem"))) {
            try FileCertificateProvider(paths: .init(certificateChain: tmp.file("cert.pem"), privateKey: tmp.file("key.pem"), roots: tmp.file("roots.pem")))
        }
    }

    @Test func certificateWithoutSpiffeIDNamesTheFile() throws {
        let tmp = TempDirectory()
        let (root, key) = try CertificateAuthority.generateRoot(trustDomain: "cluster.local")
        try tmp.write("cert.pem", root.pem)
        try tmp.write("key.pem", key.pemPKCS8())
        try tmp.write("roots.pem", root.pem)
        do {
            _ = try FileCertificateProvider(paths: .init(certificateChain: tmp.file("cert.pem"), privateKey: tmp.file("key.pem"), roots: tmp.file("roots.pem")))
            Issue.record("a certificate without a SPIFFE ID was accepted")
        } catch {
            #expect(error == .missingSpiffeIdentity(source: tmp.file("cert.pem"), reason: "it has 0 URI SANs; exactly one is required"))
        }
    }
}
