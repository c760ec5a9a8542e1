import Foundation
import Testing
import ZestCore
import ZestIdentity
@testable import ZestTLS

/// Certificates for Zest-to-Zest tests, issued by Zest's own CA.
struct ZestPKI {
    let ca: CertificateAuthority
    static let td = "cluster.local"
    static let server = SpiffeID("spiffe://cluster.local/ns/default/sa/server")!
    static let client = SpiffeID("spiffe://cluster.local/ns/default/sa/client")!

    init(trustDomain: String = ZestPKI.td) throws {
        let (root, key) = try CertificateAuthority.generateRoot(trustDomain: trustDomain)
        ca = try CertificateAuthority(signingCertificate: root, signingKey: key, intermediates: [],
                                      roots: [root], trustDomain: trustDomain, source: "test root")
    }

    func issue(_ id: SpiffeID, lifetime: Duration = .seconds(3600), now: Date = Date()) throws -> WorkloadCertificate {
        try ca.issue(for: id, lifetime: lifetime, now: now)
    }
}

@Suite struct ZestPairTests {
    @Test func goodPairCompletesWithIdentitiesAndMovesData() throws {
        let pki = try ZestPKI()
        let serverCtx = try TLSContext(role: .server, certificate: pki.issue(ZestPKI.server))
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client))
        let sockets = SocketPair()
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: serverCtx, fd: sockets.b)
        let r = handshake(client, server)
        #expect(r.client == .completed)
        #expect(r.server == .completed)
        #expect(client.peerIdentity == ZestPKI.server)
        #expect(server.peerIdentity == ZestPKI.client)
        #expect(client.negotiatedProtocol == "h2" && server.negotiatedProtocol == "h2")
        #expect(client.protocolVersion == "TLSv1.3")
        #expect(client.cipherSuite == "TLS_AES_256_GCM_SHA384")
        #expect(!client.sessionWasResumed)

        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        // Drive both directions from one thread: write in slices, read what arrived.
        var received: [UInt8] = []
        var sent = 0
        var buf = [UInt8](repeating: 0, count: 32768)
        let deadline = ContinuousClock().now + .seconds(10)
        while received.count < payload.count && ContinuousClock().now < deadline {
            if sent < payload.count {
                let end = min(sent + 40_000, payload.count)
                if case .done(let n) = try payload[sent..<end].withUnsafeBytes({ try client.write(from: $0) }) { sent += n }
            }
            let r = try buf.withUnsafeMutableBytes { try server.read(into: $0) }
            if case .done(let n) = r { received += buf[0..<n] } else { waitFor(.wantRead, on: server.fd, ms: 5) }
        }
        #expect(received == payload)
        #expect(clientCtx.counters.completedHandshakes == 1)
        #expect(serverCtx.counters.completedHandshakes == 1)
    }

    @Test func leafIssuedByAnIntermediateVerifiesThroughTheSentChain() throws {
        let pki = try ZestPKI()
        let intermediateKey = try PrivateKey.generateP256()
        let intermediate = try pki.ca.signIntermediate(key: intermediateKey, name: "node intermediate")
        let issuing = try CertificateAuthority(signingCertificate: intermediate, signingKey: intermediateKey, intermediates: [],
                                               roots: pki.ca.roots, trustDomain: ZestPKI.td, source: "intermediate")
        let serverCert = try issuing.issue(for: ZestPKI.server)
        #expect(serverCert.intermediates.count == 1)
        let serverCtx = try TLSContext(role: .server, certificate: serverCert)
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client))
        let sockets = SocketPair()
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: serverCtx, fd: sockets.b)
        #expect(handshake(client, server) == (.completed, .completed))
        #expect(client.peerIdentity == ZestPKI.server)
    }

    @Test func forcedAES128SuiteIsNegotiated() throws {
        let pki = try ZestPKI()
        let settings = TLSSettings(cipherSuites: [.aes128GCM])
        let serverCtx = try TLSContext(role: .server, certificate: pki.issue(ZestPKI.server), settings: settings)
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client))
        let sockets = SocketPair()
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: serverCtx, fd: sockets.b)
        #expect(handshake(client, server) == (.completed, .completed))
        #expect(server.cipherSuite == "TLS_AES_128_GCM_SHA256")
    }

    @Test func clientRefusesServerOutsideExpectedSetBeforeAnyData() throws {
        let pki = try ZestPKI()
        let serverCtx = try TLSContext(role: .server, certificate: pki.issue(ZestPKI.server))
        let clientCtx = try TLSContext(role: .client, certificate: pki.issue(ZestPKI.client))
        let sockets = SocketPair()
        let other = SpiffeID("spiffe://cluster.local/ns/default/sa/payments")!
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [other])
        let server = try TLSConnection(context: serverCtx, fd: sockets.b)
        let r = handshake(client, server)
        #expect(r.client == .failed(.peerRejected(.identityNotExpected(expected: [other.uri], got: ZestPKI.server.uri))))
        #expect(client.alertSent?.code == TLSAlert.handshakeFailure)
        #expect(server.alertReceived?.code == TLSAlert.handshakeFailure)
        #expect(r.server.error?.failureKind == .peerAlert)
        #expect(clientCtx.counters.failures(.identityNotExpected) == 1)
        #expect(client.peerIdentity == nil)
    }
}

/// Zest-to-Zest refusals, both ends built by Zest from Zest-issued certificates.
@Suite struct ZestPairRefusalTests {
    enum Defect: String, CaseIterable, Sendable {
        case clientFromAnotherRoot, serverFromAnotherRoot, clientForeignTrustDomain
        case clientExpired, serverExpired, serverNotYetValid
    }

    /// (who refuses, what kind, alert the refusing side sends)
    static func expectation(_ d: Defect) -> (refuser: TLSRole, kind: HandshakeFailureKind, alert: Int) {
        switch d {
        case .clientFromAnotherRoot: return (.server, .chainInvalid, TLSAlert.unknownCA)
        case .serverFromAnotherRoot: return (.client, .chainInvalid, TLSAlert.unknownCA)
        case .clientForeignTrustDomain: return (.server, .trustDomainMismatch, TLSAlert.handshakeFailure)
        case .clientExpired: return (.server, .chainInvalid, TLSAlert.certificateExpired)
        case .serverExpired: return (.client, .chainInvalid, TLSAlert.certificateExpired)
        case .serverNotYetValid: return (.client, .chainInvalid, TLSAlert.badCertificate)
        }
    }

    @Test(arguments: Defect.allCases)
    func refusedBeforeAnyApplicationByte(_ d: Defect) throws {
        let pki = try ZestPKI()
        let other = try ZestPKI()
        let now = Date()
        let past = now.addingTimeInterval(-3 * 86400), future = now.addingTimeInterval(2 * 86400)
        var serverCert = try pki.issue(ZestPKI.server)
        var clientCert = try pki.issue(ZestPKI.client)
        switch d {
        case .clientFromAnotherRoot:
            let c = try other.issue(ZestPKI.client)
            clientCert = try WorkloadCertificate(leaf: c.leaf, privateKey: c.privateKey, intermediates: [], roots: pki.ca.roots)
        case .serverFromAnotherRoot:
            let s = try other.issue(ZestPKI.server)
            serverCert = try WorkloadCertificate(leaf: s.leaf, privateKey: s.privateKey, intermediates: [], roots: pki.ca.roots)
        case .clientForeignTrustDomain:
            let foreign = try ZestPKI(trustDomain: "other.example")
            let c = try foreign.issue(SpiffeID("spiffe://other.example/ns/default/sa/client")!)
            // Same root store on the server side: only the trust domain differs.
            let sharedRoots = pki.ca.roots + foreign.ca.roots
            clientCert = try WorkloadCertificate(leaf: c.leaf, privateKey: c.privateKey, intermediates: [], roots: sharedRoots)
            serverCert = try WorkloadCertificate(leaf: serverCert.leaf, privateKey: serverCert.privateKey, intermediates: [], roots: sharedRoots)
        case .clientExpired: clientCert = try pki.issue(ZestPKI.client, lifetime: .seconds(3600), now: past)
        case .serverExpired: serverCert = try pki.issue(ZestPKI.server, lifetime: .seconds(3600), now: past)
        case .serverNotYetValid: serverCert = try pki.issue(ZestPKI.server, lifetime: .seconds(3600), now: future)
        }
        let serverCtx = try TLSContext(role: .server, certificate: serverCert)
        let clientCtx = try TLSContext(role: .client, certificate: clientCert)
        let sockets = SocketPair()
        let client = try TLSConnection(context: clientCtx, fd: sockets.a, expectedPeerIdentities: [ZestPKI.server])
        let server = try TLSConnection(context: serverCtx, fd: sockets.b)
        var r = handshake(client, server)
        let want = Self.expectation(d)
        let (refuser, victim) = want.refuser == .server ? (server, client) : (client, server)
        // A TLS 1.3 client finishes before the server has checked its certificate; the
        // server's refusal reaches it as an alert on its first read.
        if want.refuser == .server && r.client == .completed {
            if case .failed(let e) = readSome(client, count: 1, timeout: .seconds(2)) { r.client = .failed(e) }
        }
        let (refuserOutcome, victimOutcome) = want.refuser == .server ? (r.server, r.client) : (r.client, r.server)
        #expect(refuserOutcome.error?.failureKind == want.kind, "\(refuserOutcome)")
        #expect(refuser.alertSent?.code == want.alert)
        #expect(victim.alertReceived?.code == want.alert)
        #expect(victimOutcome.error?.failureKind == .peerAlert, "\(victimOutcome)")
        #expect(refuser.context.counters.failures(want.kind) == 1)
        #expect(refuser.peerIdentity == nil)
        // Nothing crosses afterwards: writes fail and reads see no bytes.
        let marker = Array("MARK".utf8)
        #expect(!writeAll(server, marker, timeout: .milliseconds(200)) || readSome(client, count: 1, timeout: .milliseconds(200)) != .data(marker))
    }
}
