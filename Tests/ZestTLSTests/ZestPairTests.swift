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
