import Foundation
import Testing
import ZestCore
@testable import ZestIdentity

@Suite struct CertificateAuthorityTests {
    static let id = SpiffeID("spiffe://cluster.local/ns/orders/sa/api")!

    func makeCA(_ td: String = "cluster.local") throws -> CertificateAuthority {
        let (root, key) = try CertificateAuthority.generateRoot(trustDomain: td)
        return try CertificateAuthority(signingCertificate: root, signingKey: key, intermediates: [],
                                        roots: [root], trustDomain: td, source: "test")
    }

    @Test func generatedKeyIsP256AndRoundTripsThroughPEM() throws {
        let key = try PrivateKey.generateP256()
        #expect(key.algorithm == "EC 256")
        let pem = try key.pemPKCS8()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let again = try PrivateKey(pem: pem, source: "mem")
        #expect(try again.pemPKCS8() == pem)
    }

    @Test func csrCarriesOnlyTheURISANAndAnEmptySubject() throws {
        let key = try PrivateKey.generateP256()
        let csr = try CertificateSigningRequest(identity: Self.id, key: key)
        #expect(csr.signatureIsValid)
        #expect(csr.subjectIsEmpty)
        #expect(csr.uriSANs == [Self.id.uri])
        #expect(csr.extensionCount == 1)
        let parsed = try CertificateSigningRequest(pem: csr.pem(), source: "mem")
        #expect(parsed.uriSANs == [Self.id.uri] && parsed.signatureIsValid)
    }

    @Test func rootIsSelfSignedCA() throws {
        let ca = try makeCA()
        let root = ca.signingCertificate
        #expect(root.isCA && root.isSelfSigned)
        #expect(root.keyUsages == [.keyCertSign, .crlSign])
        #expect(root.subject.contains("O=cluster.local"))
    }

    @Test func leafHasOneURISANBothEKUsAndIsNotCA() throws {
        let ca = try makeCA()
        let now = Date()
        let wc = try ca.issue(for: Self.id, lifetime: .seconds(7200), now: now)
        #expect(wc.identity == Self.id)
        #expect(wc.leaf.uriSANs == [Self.id.uri])
        #expect(wc.leaf.dnsSANs.isEmpty)
        #expect(!wc.leaf.isCA)
        #expect(wc.leaf.extendedKeyUsages == [.serverAuth, .clientAuth])
        #expect(wc.leaf.keyUsages == [.digitalSignature, .keyEncipherment])
        #expect(wc.leaf.isSigned(by: ca.signingCertificate))
        #expect(abs(wc.notAfter.timeIntervalSince(now) - 7200) <= 2)
        #expect(wc.intermediates.isEmpty, "a leaf signed by the root has no intermediates")
        #expect(wc.privateKey.matches(wc.leaf))
        #expect(chainFailure(wc.leaf, intermediates: [], roots: wc.roots, at: now) == nil)
        let other = try ca.issue(for: Self.id)
        #expect(other.leaf.serialNumberHex != wc.leaf.serialNumberHex)
    }

    @Test func defaultLeafLifetimeIs24Hours() throws {
        let ca = EmbeddedCA(authority: try makeCA())
        let now = Date()
        let wc = try ca.fetchCertificate(for: Self.id, now: now)
        #expect(abs(wc.notAfter.timeIntervalSince(now) - 86400) <= 2)
    }

    @Test func intermediateCAReturnsChainWithIntermediate() throws {
        let root = try makeCA()
        let intermediateKey = try PrivateKey.generateP256()
        let intermediate = try root.signIntermediate(key: intermediateKey, name: "test intermediate")
        let ca = try CertificateAuthority(signingCertificate: intermediate, signingKey: intermediateKey,
                                          intermediates: [], roots: root.roots, trustDomain: "cluster.local", source: "intermediate")
        let wc = try ca.issue(for: Self.id)
        #expect(wc.intermediates.count == 1 && wc.intermediates[0].isSameCertificate(as: intermediate))
        #expect(chainFailure(wc.leaf, intermediates: wc.intermediates, roots: wc.roots, at: Date()) == nil)
        #expect(chainFailure(wc.leaf, intermediates: [], roots: wc.roots, at: Date()) != nil)
    }

    @Test func csrForAnotherIdentityOrTrustDomainIsRefused() throws {
        let ca = try makeCA()
        let key = try PrivateKey.generateP256()
        let foreign = SpiffeID("spiffe://other.example/ns/orders/sa/api")!
        let csr = try CertificateSigningRequest(identity: foreign, key: key)
        #expect(throws: IdentityError.self) { try ca.sign(csr, for: Self.id, lifetime: .seconds(60)) }
        do {
            _ = try ca.sign(csr, for: foreign, lifetime: .seconds(60))
            Issue.record("a foreign trust domain was signed")
        } catch {
            #expect(error.description.contains("trust domain other.example"))
        }
    }
}
